package store

import (
	"context"
	"time"

	"github.com/flowd/flowd/engine"
)

// DeleteEndedBefore deletes the execution trees whose root ended before cutoff, with
// their log lines and the large response bodies their connections stored as files, up to batch roots at a time, and returns how many roots it deleted.
// Trees with a root that still runs are kept whole.
func (s *Store) DeleteEndedBefore(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	ended := []string{string(engine.StatusEndedSuccess), string(engine.StatusEndedError), string(engine.StatusEndedCancelled)}
	var roots []string
	err := s.db.WithContext(ctx).Model(&executionRow{}).
		Where("parent_id IS NULL AND status IN ? AND ended_at < ?", ended, cutoff.UTC()).
		Order("ended_at").Limit(batch).Pluck("id", &roots).Error
	if err != nil || len(roots) == 0 {
		return 0, err
	}
	tree := s.db.Model(&executionRow{}).Select("id").Where("root_id IN ?", roots)
	if err := s.db.WithContext(ctx).Where("execution_id IN (?)", tree).Delete(&logRow{}).Error; err != nil {
		return 0, err
	}
	// Large responses that connections stored as files go with them.
	bodies := s.db.Model(&executionRow{}).Select("'response-' || id").Where("root_id IN ?", roots)
	if err := s.db.WithContext(ctx).Where("name IN (?)", bodies).Delete(&fileRow{}).Error; err != nil {
		return 0, err
	}
	if err := s.db.WithContext(ctx).Where("root_id IN ?", roots).Delete(&executionRow{}).Error; err != nil {
		return 0, err
	}
	return len(roots), nil
}
