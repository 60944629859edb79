package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/flowd/flowd/engine"
)

// secretRow is a secret sealed by secrets.Keyring; the store never sees a value.
type secretRow struct {
	Name      string `gorm:"primaryKey"`
	Sealed    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (secretRow) TableName() string { return "secrets" }

func (r secretRow) domain() engine.Secret {
	return engine.Secret{Name: r.Name, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// PutSecret creates or replaces the sealed value of secret name and reports
// whether it was created. Two first saves at once give EConflict.
func (s *Store) PutSecret(ctx context.Context, name, sealed string) (engine.Secret, bool, error) {
	var out secretRow
	created := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("name = ?", name).Take(&out).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			created = true
			out = secretRow{Name: name, CreatedAt: now}
		case err != nil:
			return err
		}
		out.Sealed, out.UpdatedAt = sealed, now
		return tx.Save(&out).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return engine.Secret{}, false, engine.Errorf(engine.EConflict, "secret %q was saved by someone else at the same time; save it again", name)
	}
	return out.domain(), created, err
}

// SealedSecret returns the sealed value of secret name, or ENotFound.
func (s *Store) SealedSecret(ctx context.Context, name string) (string, error) {
	var r secretRow
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return "", notFound(err, `secret %q does not exist; create it with PUT /api/v1/secrets/%s {"value": "..."}`, name, name)
	}
	return r.Sealed, nil
}

// ListSecrets returns the secrets' names and dates by name, without their values.
func (s *Store) ListSecrets(ctx context.Context) ([]engine.Secret, error) {
	var rows []secretRow
	if err := s.db.WithContext(ctx).Select("name, created_at, updated_at").Order("name").Find(&rows).Error; err != nil {
		return nil, err
	}
	return domains[engine.Secret](rows), nil
}

// GetSecret returns a secret's name and dates, or ENotFound.
func (s *Store) GetSecret(ctx context.Context, name string) (engine.Secret, error) {
	var r secretRow
	if err := s.db.WithContext(ctx).Select("name, created_at, updated_at").Where("name = ?", name).Take(&r).Error; err != nil {
		return engine.Secret{}, notFound(err, `secret %q does not exist; create it with PUT /api/v1/secrets/%s {"value": "..."}`, name, name)
	}
	return r.domain(), nil
}

// DeleteSecret deletes a secret, or returns ENotFound.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&secretRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "secret %q does not exist; list secrets with GET /api/v1/secrets", name)
	}
	return nil
}
