package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/flowd/flowd/engine"
)

const (
	defaultListLimit = 50
	maxListLimit     = 500
)

// GetExecution returns one execution, or ENotFound.
func (s *Store) GetExecution(ctx context.Context, id string) (engine.Execution, error) {
	var r executionRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return engine.Execution{}, notFound(err, "execution %q does not exist; list executions with GET /api/v1/executions", id)
	}
	return r.domain(), nil
}

// ListExecutions returns executions matching f, newest first, and a cursor for the next
// page ("" on the last page). A malformed cursor is an EInvalid error.
func (s *Store) ListExecutions(ctx context.Context, f engine.ExecutionFilter) ([]engine.Execution, string, error) {
	q := s.db.WithContext(ctx).Model(&executionRow{})
	if f.Flow != "" {
		q = q.Where("name = ? AND type = ?", f.Flow, string(engine.TypeFlow))
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.Type != "" {
		q = q.Where("type = ?", string(f.Type))
	}
	if f.Trigger != "" {
		q = q.Where("trigger = ?", string(f.Trigger))
	}
	if f.ParentID != "" {
		q = q.Where("parent_id = ?", f.ParentID)
	}
	if f.RootID != "" {
		q = q.Where("root_id = ?", f.RootID)
	}
	if f.TopLevel {
		q = q.Where("parent_id IS NULL")
	}
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("created_at < ?", f.Until.UTC())
	}
	for path, v := range f.Inputs {
		q = s.inputMatch(q, path, v)
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(created_at < ? OR (created_at = ? AND id < ?))", at, at, id)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	limit = min(limit, maxListLimit)
	var rows []executionRow
	if err := q.Order("created_at DESC, id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = encodeCursor(last.CreatedAt, last.ID)
	}
	return domains[engine.Execution](rows), next, nil
}

func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UTC().UnixNano(), 10) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	bad := engine.Errorf(engine.EInvalid, "cursor %q is not valid: pass the next_cursor of the previous page unchanged", c)
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", bad
	}
	ns, id, ok := strings.Cut(string(raw), "|")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", bad
	}
	return time.Unix(0, n).UTC(), id, nil
}

// Children returns the direct children of an execution in start order.
func (s *Store) Children(ctx context.Context, id string) ([]engine.Execution, error) {
	var rows []executionRow
	if err := s.db.WithContext(ctx).Where("parent_id = ?", id).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	return domains[engine.Execution](rows), nil
}

// ChildRefs returns the direct children of an execution with only their id, type,
// name and status: what a replay needs to order them, without the inputs and
// outputs of thousands of connections.
func (s *Store) ChildRefs(ctx context.Context, id string) ([]engine.Execution, error) {
	var rows []executionRow
	if err := s.db.WithContext(ctx).Select("id", "type", "name", "status").Where("parent_id = ?", id).Find(&rows).Error; err != nil {
		return nil, err
	}
	return domains[engine.Execution](rows), nil
}

// Record applies a batch of progress in one transaction; see engine.Store.
func (s *Store) Record(ctx context.Context, p engine.Progress) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if len(p.Create) > 0 {
			rows := make([]executionRow, len(p.Create))
			for i, e := range p.Create {
				rows[i] = toExecutionRow(e)
			}
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows)
			if res.Error != nil {
				return fmt.Errorf("create executions: %w", res.Error)
			}
			if p.Created != nil {
				*p.Created = res.RowsAffected
			}
		}
		for _, e := range p.Audit {
			if err := writeAudit(tx, e); err != nil {
				return err
			}
		}
		for _, u := range p.Updates {
			set := map[string]any{}
			if u.Status != "" {
				set["status"] = string(u.Status)
			}
			if u.StatusMessage != nil {
				set["status_message"] = *u.StatusMessage
			}
			if u.Outputs != nil {
				set["outputs"] = string(u.Outputs)
			}
			if u.StartedAt != nil {
				set["started_at"] = u.StartedAt.UTC()
			}
			if u.EndedAt != nil {
				set["ended_at"] = u.EndedAt.UTC()
			}
			if u.Message != nil {
				if string(u.Message) == "null" {
					set["message"] = nil
				} else {
					set["message"] = string(u.Message)
				}
			}
			if len(set) == 0 {
				continue
			}
			q := tx.Model(&executionRow{}).Where("id = ?", u.ID)
			if !u.Status.Ended() {
				// An ended execution stays ended: a late RUNNING from a retried
				// activity must not reopen it.
				q = q.Where("status NOT IN ?", []string{string(engine.StatusEndedSuccess), string(engine.StatusEndedError), string(engine.StatusEndedCancelled)})
			}
			if err := q.Updates(set).Error; err != nil {
				return fmt.Errorf("update execution %s: %w", u.ID, err)
			}
		}
		if len(p.Logs) > 0 {
			rows := make([]logRow, len(p.Logs))
			for i, l := range p.Logs {
				rows[i] = logRow{ExecutionID: l.ExecutionID, Seq: l.Seq, TS: l.TS.UTC(), Level: l.Level, Message: l.Message}
			}
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&rows, 200).Error; err != nil {
				return fmt.Errorf("write log lines: %w", err)
			}
		}
		return nil
	})
}

// Logs returns up to limit log lines of an execution with seq > after, in order.
func (s *Store) Logs(ctx context.Context, executionID string, after int64, limit int) ([]engine.LogLine, error) {
	if limit <= 0 || limit > 5000 {
		limit = 1000
	}
	var rows []logRow
	if err := s.db.WithContext(ctx).Where("execution_id = ? AND seq > ?", executionID, after).
		Order("seq").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]engine.LogLine, len(rows))
	for i, r := range rows {
		out[i] = engine.LogLine{ExecutionID: r.ExecutionID, Seq: r.Seq, TS: r.TS.UTC(), Level: r.Level, Message: r.Message}
	}
	return out, nil
}

// inputMatch filters on one value inside the JSON inputs: a containment query on
// PostgreSQL (served by a GIN index), json_extract on SQLite.
func (s *Store) inputMatch(q *gorm.DB, path string, v any) *gorm.DB {
	keys := strings.Split(path, ".")
	if s.dialect == "postgres" {
		var doc any = v
		for i := len(keys) - 1; i >= 0; i-- {
			doc = map[string]any{keys[i]: doc}
		}
		b, _ := json.Marshal(doc)
		return q.Where("inputs::jsonb @> ?::jsonb", string(b))
	}
	jsonPath := "$"
	for _, k := range keys {
		jsonPath += `."` + k + `"`
	}
	// SQLite raises an error for JSON nested deeper than it parses (which a flow can
	// store as a child's inputs), failing the whole list: such a row does not match.
	const valid = "CASE WHEN json_valid(inputs) THEN %s END"
	switch x := v.(type) {
	case nil:
		return q.Where(fmt.Sprintf(valid, "json_type(inputs, ?)")+" = 'null'", jsonPath)
	case bool:
		want := "false"
		if x {
			want = "true"
		}
		return q.Where(fmt.Sprintf(valid, "json_type(inputs, ?)")+" = ?", jsonPath, want)
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return q.Where(fmt.Sprintf(valid, "json(json_extract(inputs, ?))")+" = json(?)", jsonPath, string(b))
	default:
		return q.Where(fmt.Sprintf(valid, "json_extract(inputs, ?)")+" = ?", jsonPath, x)
	}
}

// openStatuses are the statuses of an execution that has not ended.
var openStatuses = []string{string(engine.StatusPending), string(engine.StatusRunning), string(engine.StatusWaiting)}

// UnendedExecutions returns up to limit executions that have not ended and were
// created before before, in (created_at, id) order after the cursor (afterAt,
// afterID); a zero afterAt starts from the oldest. The reconciler pages through them.
func (s *Store) UnendedExecutions(ctx context.Context, before, afterAt time.Time, afterID string, limit int) ([]engine.Execution, error) {
	q := s.db.WithContext(ctx).Where("status IN ? AND created_at < ?", openStatuses, before.UTC())
	if !afterAt.IsZero() {
		at := afterAt.UTC()
		q = q.Where("(created_at > ? OR (created_at = ? AND id > ?))", at, at, afterID)
	}
	var rows []executionRow
	if err := q.Order("created_at, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	return domains[engine.Execution](rows), nil
}

// EndExecution ends an execution that has not ended yet with status and message, and
// clears its pending message. It reports whether it changed the row: false when the
// row had ended meanwhile (its workflow, or another process, recorded the end first)
// or does not exist, so that processes racing on one row change it once.
func (s *Store) EndExecution(ctx context.Context, id string, status engine.Status, message string, at time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&executionRow{}).Where("id = ? AND status IN ?", id, openStatuses).
		Updates(map[string]any{"status": string(status), "status_message": message, "ended_at": at.UTC(), "message": nil})
	if res.Error != nil {
		return false, fmt.Errorf("end execution %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}
