package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/flowd/flowd/engine"
)

type connectorRow struct {
	Name          string `gorm:"primaryKey"`
	ConnectorType string
	Inputs        string
	Domains       string
	Description   string
	TestOK        bool `gorm:"column:test_ok"`
	TestMessage   string
	TestStatus    int
	TestedAt      *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (connectorRow) TableName() string { return "connectors" }

func (r connectorRow) domain() (engine.SavedConnector, error) {
	c := engine.SavedConnector{Name: r.Name, ConnectorType: r.ConnectorType, Description: r.Description,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if err := json.Unmarshal([]byte(r.Inputs), &c.Inputs); err != nil {
		return c, fmt.Errorf("read the inputs of saved connector %q: %w", r.Name, err)
	}
	if err := json.Unmarshal([]byte(r.Domains), &c.Domains); err != nil {
		return c, fmt.Errorf("read the domains of saved connector %q: %w", r.Name, err)
	}
	if c.Inputs == nil {
		c.Inputs = map[string]any{}
	}
	if c.Domains == nil {
		c.Domains = []string{}
	}
	if r.TestedAt != nil {
		c.LastTest = &engine.ConnectorTest{OK: r.TestOK, Message: r.TestMessage, StatusCode: r.TestStatus, At: r.TestedAt.UTC()}
	}
	return c, nil
}

// PutConnector creates or replaces a saved connector, forgetting its last test,
// and reports whether it was created.
func (s *Store) PutConnector(ctx context.Context, c engine.SavedConnector) (engine.SavedConnector, bool, error) {
	inputs, err := json.Marshal(c.Inputs)
	if err != nil {
		return engine.SavedConnector{}, false, engine.Errorf(engine.EInvalid, "the inputs cannot be stored as JSON: %v", err)
	}
	domains, err := json.Marshal(c.Domains)
	if err != nil {
		return engine.SavedConnector{}, false, err
	}
	var out connectorRow
	created := false
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("name = ?", c.Name).Take(&out).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			created = true
			out = connectorRow{Name: c.Name, CreatedAt: now}
		case err != nil:
			return err
		}
		out.ConnectorType, out.Inputs, out.Domains, out.Description, out.UpdatedAt = c.ConnectorType, string(inputs), string(domains), c.Description, now
		out.TestOK, out.TestMessage, out.TestStatus, out.TestedAt = false, "", 0, nil
		return tx.Save(&out).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return engine.SavedConnector{}, false, engine.Errorf(engine.EConflict, "saved connector %q was saved by someone else at the same time; save it again", c.Name)
	}
	if err != nil {
		return engine.SavedConnector{}, false, err
	}
	saved, err := out.domain()
	return saved, created, err
}

// GetConnector returns a saved connector, or ENotFound.
func (s *Store) GetConnector(ctx context.Context, name string) (engine.SavedConnector, error) {
	var r connectorRow
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return engine.SavedConnector{}, notFound(err, "saved connector %q does not exist; list them with GET /api/v1/connectors or create it with PUT /api/v1/connectors/%s", name, name)
	}
	return r.domain()
}

// ListConnectors returns the saved connectors by name.
func (s *Store) ListConnectors(ctx context.Context) ([]engine.SavedConnector, error) {
	var rows []connectorRow
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]engine.SavedConnector, len(rows))
	for i, r := range rows {
		c, err := r.domain()
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// DeleteConnector deletes a saved connector, or returns ENotFound.
func (s *Store) DeleteConnector(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&connectorRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "saved connector %q does not exist; list them with GET /api/v1/connectors", name)
	}
	return nil
}

// SetConnectorTest records the outcome of a test of saved connector name, or
// returns ENotFound when it was deleted meanwhile.
func (s *Store) SetConnectorTest(ctx context.Context, name string, t engine.ConnectorTest) error {
	at := t.At.UTC()
	res := s.db.WithContext(ctx).Model(&connectorRow{}).Where("name = ?", name).
		Updates(map[string]any{"test_ok": t.OK, "test_message": t.Message, "test_status": t.StatusCode, "tested_at": &at})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "saved connector %q was deleted during its test", name)
	}
	return nil
}

type grantRow struct {
	Name      string `gorm:"primaryKey"`
	Config    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (grantRow) TableName() string { return "oauth_grants" }

func (r grantRow) domain() (engine.SavedGrant, error) {
	g := engine.SavedGrant{Name: r.Name, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if err := json.Unmarshal([]byte(r.Config), &g.Config); err != nil {
		return g, fmt.Errorf("read OAuth2 grant %q: %w", r.Name, err)
	}
	return g, nil
}

// PutGrant creates or replaces a saved OAuth2 grant and reports whether it was
// created.
func (s *Store) PutGrant(ctx context.Context, g engine.SavedGrant) (engine.SavedGrant, bool, error) {
	cfg, err := json.Marshal(g.Config)
	if err != nil {
		return engine.SavedGrant{}, false, engine.Errorf(engine.EInvalid, "the grant cannot be stored as JSON: %v", err)
	}
	var out grantRow
	created := false
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("name = ?", g.Name).Take(&out).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			created = true
			out = grantRow{Name: g.Name, CreatedAt: now}
		case err != nil:
			return err
		}
		out.Config, out.UpdatedAt = string(cfg), now
		return tx.Save(&out).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return engine.SavedGrant{}, false, engine.Errorf(engine.EConflict, "OAuth2 grant %q was saved by someone else at the same time; save it again", g.Name)
	}
	if err != nil {
		return engine.SavedGrant{}, false, err
	}
	saved, err := out.domain()
	return saved, created, err
}

// GetGrant returns a saved OAuth2 grant, or ENotFound.
func (s *Store) GetGrant(ctx context.Context, name string) (engine.SavedGrant, error) {
	var r grantRow
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return engine.SavedGrant{}, notFound(err, "OAuth2 grant %q does not exist; create it with PUT /api/v1/grants/%s", name, name)
	}
	return r.domain()
}

// ListGrants returns the saved OAuth2 grants by name.
func (s *Store) ListGrants(ctx context.Context) ([]engine.SavedGrant, error) {
	var rows []grantRow
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]engine.SavedGrant, len(rows))
	for i, r := range rows {
		g, err := r.domain()
		if err != nil {
			return nil, err
		}
		out[i] = g
	}
	return out, nil
}

// DeleteGrant deletes a saved OAuth2 grant, or returns ENotFound.
func (s *Store) DeleteGrant(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&grantRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "OAuth2 grant %q does not exist; list them with GET /api/v1/grants", name)
	}
	return nil
}

var (
	_ engine.SecretStore    = (*Store)(nil)
	_ engine.ConnectorStore = (*Store)(nil)
)
