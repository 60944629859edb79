package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/flowd/flowd/engine"
)

// CreateClient stores a new API client, or returns EConflict when the id is taken.
// A client without a Generation gets a random one.
func (s *Store) CreateClient(ctx context.Context, c engine.Client) error {
	if c.Generation == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		c.Generation = hex.EncodeToString(b)
	}
	r := clientRow{ID: c.ID, Name: c.Name, SecretHash: c.SecretHash, Role: string(c.Role), CreatedAt: c.CreatedAt.UTC(), Generation: c.Generation}
	err := s.db.WithContext(ctx).Create(&r).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return engine.Errorf(engine.EConflict, "API client %q exists; pick another id or delete it first", c.ID)
	}
	return err
}

// GetClient returns a client by id, or ENotFound.
func (s *Store) GetClient(ctx context.Context, id string) (engine.Client, error) {
	var r clientRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return engine.Client{}, notFound(err, "API client %q does not exist", id)
	}
	return r.domain(), nil
}

// ListClients returns all clients by id.
func (s *Store) ListClients(ctx context.Context) ([]engine.Client, error) {
	var rows []clientRow
	if err := s.db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	return domains[engine.Client](rows), nil
}

// DeleteClient deletes a client, or returns ENotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&clientRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "API client %q does not exist", id)
	}
	return nil
}

// CountClients returns how many API clients exist.
func (s *Store) CountClients(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&clientRow{}).Count(&n).Error
	return n, err
}

// ServerKey returns the value stored under name, storing generate() first if absent.
// Concurrent first calls from several processes agree on one value.
func (s *Store) ServerKey(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	var r serverKeyRow
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error
	if err == nil {
		return r.Value, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return "", err
	}
	v, err := generate()
	if err != nil {
		return "", err
	}
	r = serverKeyRow{Name: name, Value: v, CreatedAt: time.Now().UTC()}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&r).Error; err != nil {
		return "", err
	}
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return "", err
	}
	return r.Value, nil
}

// SwapServerKey replaces the value stored under name with value when it is still old,
// and reports whether it did: of several processes that swap at once, one wins and
// the others read the winner's value again.
func (s *Store) SwapServerKey(ctx context.Context, name, old, value string) (bool, error) {
	res := s.db.WithContext(ctx).Model(&serverKeyRow{}).Where("name = ? AND value = ?", name, old).
		Updates(map[string]any{"value": value, "created_at": time.Now().UTC()})
	return res.RowsAffected == 1, res.Error
}
