package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/flowd/flowd/engine"
)

var _ engine.WebhookStore = (*Store)(nil)

type webhookRow struct {
	Name      string `gorm:"primaryKey"`
	Flow      string
	KeyHash   string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (webhookRow) TableName() string { return "webhooks" }

func (r webhookRow) domain() engine.Webhook {
	return engine.Webhook{Name: r.Name, Flow: r.Flow, KeyHash: r.KeyHash, Enabled: r.Enabled,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// PutWebhook creates or replaces a webhook in one transaction; see engine.WebhookStore.
func (s *Store) PutWebhook(ctx context.Context, w engine.Webhook) (engine.Webhook, bool, error) {
	var (
		out     webhookRow
		created bool
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		var cur webhookRow
		err := tx.Where("name = ?", w.Name).Take(&cur).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			created = true
			cur = webhookRow{Name: w.Name, CreatedAt: now}
		case err != nil:
			return err
		}
		cur.Flow, cur.KeyHash, cur.Enabled, cur.UpdatedAt = w.Flow, w.KeyHash, w.Enabled, now
		out = cur
		return tx.Save(&cur).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return engine.Webhook{}, false, engine.Errorf(engine.EConflict, "webhook %q was saved by someone else at the same time; save again", w.Name)
	}
	return out.domain(), created, err
}

// GetWebhook returns a webhook, or ENotFound.
func (s *Store) GetWebhook(ctx context.Context, name string) (engine.Webhook, error) {
	var r webhookRow
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return engine.Webhook{}, notFound(err, "webhook %q does not exist; list webhooks with GET /api/v1/webhooks", name)
	}
	return r.domain(), nil
}

// ListWebhooks returns all webhooks by name.
func (s *Store) ListWebhooks(ctx context.Context) ([]engine.Webhook, error) {
	var rows []webhookRow
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, err
	}
	return domains[engine.Webhook](rows), nil
}

// DeleteWebhook deletes a webhook, or returns ENotFound.
func (s *Store) DeleteWebhook(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&webhookRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "webhook %q does not exist", name)
	}
	return nil
}
