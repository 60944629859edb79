package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/flowd/flowd/engine"
)

var _ engine.ScheduleStore = (*Store)(nil)

type scheduleRow struct {
	Name      string `gorm:"primaryKey"`
	Flow      string
	Cron      string
	Inputs    string
	Enabled   bool
	Timezone  string
	Overlap   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (scheduleRow) TableName() string { return "schedules" }

func (r scheduleRow) domain() engine.Schedule {
	return engine.Schedule{Name: r.Name, Flow: r.Flow, Cron: r.Cron, Inputs: json.RawMessage(r.Inputs), Enabled: r.Enabled,
		Timezone: r.Timezone, Overlap: r.Overlap, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// PutSchedule creates or replaces a schedule in one transaction; see engine.ScheduleStore.
func (s *Store) PutSchedule(ctx context.Context, sc engine.Schedule) (engine.Schedule, bool, error) {
	var (
		out     scheduleRow
		created bool
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		var cur scheduleRow
		err := tx.Where("name = ?", sc.Name).Take(&cur).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			created = true
			cur = scheduleRow{Name: sc.Name, CreatedAt: now}
		case err != nil:
			return err
		}
		cur.Flow, cur.Cron, cur.Inputs, cur.Enabled = sc.Flow, sc.Cron, jsonText(sc.Inputs), sc.Enabled
		cur.Timezone, cur.Overlap, cur.UpdatedAt = sc.Timezone, sc.Overlap, now
		out = cur
		return tx.Save(&cur).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return engine.Schedule{}, false, engine.Errorf(engine.EConflict, "schedule %q was saved by someone else at the same time; save again", sc.Name)
	}
	return out.domain(), created, err
}

// GetSchedule returns a schedule, or ENotFound.
func (s *Store) GetSchedule(ctx context.Context, name string) (engine.Schedule, error) {
	var r scheduleRow
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return engine.Schedule{}, notFound(err, "schedule %q does not exist; list schedules with GET /api/v1/schedules", name)
	}
	return r.domain(), nil
}

// ListSchedules returns all schedules by name.
func (s *Store) ListSchedules(ctx context.Context) ([]engine.Schedule, error) {
	var rows []scheduleRow
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, err
	}
	return domains[engine.Schedule](rows), nil
}

// DeleteSchedule deletes a schedule, or returns ENotFound.
func (s *Store) DeleteSchedule(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&scheduleRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "schedule %q does not exist", name)
	}
	return nil
}
