package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/flowd/flowd/engine"
)

var _ engine.AuditLog = (*Store)(nil)

type auditRow struct {
	ID         string `gorm:"primaryKey"`
	At         time.Time
	Actor      string
	ActorKind  string
	Action     string
	TargetType string
	Target     string
	Address    string
	Detail     string
}

func (auditRow) TableName() string { return "audit_log" }

func (r auditRow) domain() engine.AuditEntry {
	return engine.AuditEntry{ID: r.ID, At: r.At.UTC(), Actor: r.Actor, ActorKind: r.ActorKind, Action: r.Action,
		TargetType: r.TargetType, Target: r.Target, Address: r.Address, Detail: json.RawMessage(r.Detail)}
}

// WriteAudit adds an entry to the audit log; see engine.AuditLog.
func (s *Store) WriteAudit(ctx context.Context, e engine.AuditEntry) error {
	return writeAudit(s.db.WithContext(ctx), e)
}

// writeAudit adds e through db, which may be a transaction (Record).
func writeAudit(db *gorm.DB, e engine.AuditEntry) error {
	if e.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		e.ID = id.String()
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	// Microseconds, as PostgreSQL keeps them, so that a cursor made from a row read
	// back names the same instant on both databases.
	at := e.At.UTC().Truncate(time.Microsecond)
	r := auditRow{ID: e.ID, At: at, Actor: e.Actor, ActorKind: e.ActorKind, Action: e.Action,
		TargetType: e.TargetType, Target: e.Target, Address: e.Address, Detail: jsonText(e.Detail)}
	if err := db.Create(&r).Error; err != nil {
		return fmt.Errorf("write audit entry %s: %w", e.Action, err)
	}
	return nil
}

// ListAudit returns audit entries matching f, newest first; see engine.AuditLog.
func (s *Store) ListAudit(ctx context.Context, f engine.AuditFilter) ([]engine.AuditEntry, string, error) {
	q := s.db.WithContext(ctx).Model(&auditRow{})
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Target != "" {
		q = q.Where("target = ?", f.Target)
	}
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", f.Until.UTC())
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(at < ? OR (at = ? AND id < ?))", at, at, id)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	limit = min(limit, maxListLimit)
	var rows []auditRow
	if err := q.Order("at DESC, id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = encodeCursor(last.At, last.ID)
	}
	return domains[engine.AuditEntry](rows), next, nil
}
