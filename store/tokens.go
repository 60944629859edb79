package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/flowd/flowd/engine"
)

type tokenRow struct {
	TokenKey  string `gorm:"primaryKey"`
	Sealed    string
	TokenHash string
	RefreshAt time.Time
	UpdatedAt time.Time
}

func (tokenRow) TableName() string { return "oauth_tokens" }

// GetOAuthToken returns a shared token, or ENotFound.
func (s *Store) GetOAuthToken(ctx context.Context, key string) (engine.StoredToken, error) {
	var r tokenRow
	if err := s.db.WithContext(ctx).Where("token_key = ?", key).Take(&r).Error; err != nil {
		return engine.StoredToken{}, notFound(err, "no shared token for %q", key)
	}
	return engine.StoredToken{Sealed: r.Sealed, TokenHash: r.TokenHash, RefreshAt: r.RefreshAt.UTC()}, nil
}

// PutOAuthToken creates or replaces a shared token.
func (s *Store) PutOAuthToken(ctx context.Context, key string, t engine.StoredToken) error {
	r := tokenRow{TokenKey: key, Sealed: t.Sealed, TokenHash: t.TokenHash, RefreshAt: t.RefreshAt.UTC(), UpdatedAt: time.Now().UTC()}
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "token_key"}}, UpdateAll: true}).Create(&r).Error
}

// DeleteOAuthToken deletes the shared token under key if its hash is tokenHash.
func (s *Store) DeleteOAuthToken(ctx context.Context, key, tokenHash string) error {
	return s.db.WithContext(ctx).Where("token_key = ? AND token_hash = ?", key, tokenHash).Delete(&tokenRow{}).Error
}

var _ engine.TokenStore = (*Store)(nil)
