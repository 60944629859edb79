package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/flowd/flowd/engine"
)

type userRow struct {
	Username     string `gorm:"primaryKey"`
	Role         string
	PasswordHash string
	Source       string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (userRow) TableName() string { return "users" }

func (r userRow) domain() engine.User {
	return engine.User{Username: r.Username, Role: engine.Role(r.Role), PasswordHash: r.PasswordHash, Source: r.Source,
		Disabled: r.Disabled, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type sessionRow struct {
	ID         string `gorm:"primaryKey"`
	TokenHash  string
	Username   string
	CSRFToken  string `gorm:"column:csrf_token"`
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	Address    string
	UserAgent  string
}

func (sessionRow) TableName() string { return "sessions" }

func (r sessionRow) domain() engine.Session {
	return engine.Session{ID: r.ID, TokenHash: r.TokenHash, Username: r.Username, CSRFToken: r.CSRFToken,
		CreatedAt: r.CreatedAt.UTC(), LastSeenAt: r.LastSeenAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), Address: r.Address, UserAgent: r.UserAgent}
}

// CreateUser stores a new user, or returns EConflict when the username is taken.
func (s *Store) CreateUser(ctx context.Context, u engine.User) error {
	if u.Source == "" {
		u.Source = engine.UserSourcePassword
	}
	r := userRow{Username: u.Username, Role: string(u.Role), PasswordHash: u.PasswordHash, Source: u.Source,
		Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
	err := s.db.WithContext(ctx).Create(&r).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return engine.Errorf(engine.EConflict, "user %q exists; pick another username or change that user with PATCH /api/v1/users/%s", u.Username, u.Username)
	}
	return err
}

// GetUser returns a user by username, or ENotFound.
func (s *Store) GetUser(ctx context.Context, username string) (engine.User, error) {
	var r userRow
	if err := s.db.WithContext(ctx).Where("username = ?", username).Take(&r).Error; err != nil {
		return engine.User{}, notFound(err, "user %q does not exist", username)
	}
	return r.domain(), nil
}

// UpdateUser writes u's role, password hash, source, disabled flag and updated_at,
// or returns ENotFound.
func (s *Store) UpdateUser(ctx context.Context, u engine.User) error {
	res := s.db.WithContext(ctx).Model(&userRow{}).Where("username = ?", u.Username).Updates(map[string]any{
		"role": string(u.Role), "password_hash": u.PasswordHash, "source": u.Source, "disabled": u.Disabled, "updated_at": u.UpdatedAt.UTC(),
	})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "user %q does not exist", u.Username)
	}
	return nil
}

// DeleteUser deletes a user and their sessions, or returns ENotFound.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("username = ?", username).Delete(&sessionRow{}).Error; err != nil {
			return err
		}
		res := tx.Where("username = ?", username).Delete(&userRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return engine.Errorf(engine.ENotFound, "user %q does not exist", username)
		}
		return nil
	})
}

// ListUsers returns all users by username.
func (s *Store) ListUsers(ctx context.Context) ([]engine.User, error) {
	var rows []userRow
	if err := s.db.WithContext(ctx).Order("username").Find(&rows).Error; err != nil {
		return nil, err
	}
	return domains[engine.User](rows), nil
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&userRow{}).Count(&n).Error
	return n, err
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, se engine.Session) error {
	r := sessionRow{ID: se.ID, TokenHash: se.TokenHash, Username: se.Username, CSRFToken: se.CSRFToken,
		CreatedAt: se.CreatedAt.UTC(), LastSeenAt: se.LastSeenAt.UTC(), ExpiresAt: se.ExpiresAt.UTC(), Address: se.Address, UserAgent: se.UserAgent}
	return s.db.WithContext(ctx).Create(&r).Error
}

// SessionByToken returns the session whose cookie value hashes to tokenHash, or
// ENotFound.
func (s *Store) SessionByToken(ctx context.Context, tokenHash string) (engine.Session, error) {
	var r sessionRow
	if err := s.db.WithContext(ctx).Where("token_hash = ?", tokenHash).Take(&r).Error; err != nil {
		return engine.Session{}, notFound(err, "the session does not exist; sign in again")
	}
	return r.domain(), nil
}

// TouchSession sets a session's last_seen_at.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&sessionRow{}).Where("id = ?", id).Update("last_seen_at", at.UTC()).Error
}

// ListSessions returns a user's sessions, newest first.
func (s *Store) ListSessions(ctx context.Context, username string) ([]engine.Session, error) {
	var rows []sessionRow
	if err := s.db.WithContext(ctx).Where("username = ?", username).Order("created_at DESC, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	return domains[engine.Session](rows), nil
}

// DeleteSession deletes one of username's sessions, or returns ENotFound (also for
// another user's session, so that ids of others' sessions cannot be probed).
func (s *Store) DeleteSession(ctx context.Context, username, id string) error {
	res := s.db.WithContext(ctx).Where("id = ? AND username = ?", id, username).Delete(&sessionRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "you have no session %q; list yours with GET /api/v1/auth/sessions", id)
	}
	return nil
}

// DeleteSessions deletes all of username's sessions.
func (s *Store) DeleteSessions(ctx context.Context, username string) error {
	return s.db.WithContext(ctx).Where("username = ?", username).Delete(&sessionRow{}).Error
}

// DeleteEndedSessions deletes sessions whose absolute end is before now or that were
// last seen before idleSince, and returns how many.
func (s *Store) DeleteEndedSessions(ctx context.Context, now, idleSince time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ? OR last_seen_at < ?", now.UTC(), idleSince.UTC()).Delete(&sessionRow{})
	return res.RowsAffected, res.Error
}
