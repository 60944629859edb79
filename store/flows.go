package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/flowd/flowd/engine"
)

// SaveFlow creates the flow or adds a revision to it, in one transaction; author
// ("" for none) is recorded on the revision and the flow.
func (s *Store) SaveFlow(ctx context.Context, name, script, description string, maxRuntime int, inputsSchema json.RawMessage, author string) (engine.Flow, error) {
	var by *string
	if author != "" {
		by = &author
	}
	schema := ""
	if t := bytes.TrimSpace(inputsSchema); len(t) > 0 && string(t) != "null" {
		schema = string(t)
	}
	var out flowRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		var cur flowRow
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("name = ?", name).Take(&cur).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			cur = flowRow{Name: name, CreatedAt: now}
			// Revisions of a deleted flow stay for the executions that ran them, so a
			// flow saved again under the same name continues their numbering.
			var last struct{ Max *int }
			if err := tx.Model(&revisionRow{}).Select("MAX(revision) AS max").Where("flow_name = ?", name).Scan(&last).Error; err != nil {
				return err
			}
			if last.Max != nil {
				cur.Revision = *last.Max
			}
		case err != nil:
			return err
		}
		cur.Revision++
		cur.Script, cur.Description, cur.UpdatedAt, cur.MaxRuntimeSeconds, cur.InputsSchema, cur.Author = script, description, now, maxRuntime, schema, by
		if err := tx.Save(&cur).Error; err != nil {
			return err
		}
		rev := revisionRow{FlowName: name, Revision: cur.Revision, Script: script, Description: description, InputsSchema: schema, CreatedAt: now, Author: by}
		if err := tx.Create(&rev).Error; err != nil {
			return err
		}
		out = cur
		return nil
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return engine.Flow{}, engine.Errorf(engine.EConflict, "flow %q was saved by someone else at the same time; save again", name)
	}
	return out.domain(), err
}

// GetFlow returns the flow with its latest script, or ENotFound.
func (s *Store) GetFlow(ctx context.Context, name string) (engine.Flow, error) {
	var r flowRow
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return engine.Flow{}, notFound(err, "flow %q does not exist; list flows with GET /api/v1/flows or save it with PUT /api/v1/flows/%s", name, name)
	}
	return r.domain(), nil
}

// GetFlowRevision returns one revision of a flow, or ENotFound.
func (s *Store) GetFlowRevision(ctx context.Context, name string, revision int) (engine.FlowRevision, error) {
	var r revisionRow
	if err := s.db.WithContext(ctx).Where("flow_name = ? AND revision = ?", name, revision).Take(&r).Error; err != nil {
		return engine.FlowRevision{}, notFound(err, "flow %q has no revision %d", name, revision)
	}
	return r.domain(), nil
}

// ListFlows returns all flows by name, without their scripts.
func (s *Store) ListFlows(ctx context.Context) ([]engine.Flow, error) {
	var rows []flowRow
	if err := s.db.WithContext(ctx).Select("name, description, revision, created_at, updated_at, author").Order("name").Find(&rows).Error; err != nil {
		return nil, err
	}
	return domains[engine.Flow](rows), nil
}

// FlowRevisions returns a flow's revisions, newest first, or ENotFound.
func (s *Store) FlowRevisions(ctx context.Context, name string) ([]engine.FlowRevision, error) {
	var rows []revisionRow
	if err := s.db.WithContext(ctx).Where("flow_name = ?", name).Order("revision DESC").Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, engine.Errorf(engine.ENotFound, "flow %q does not exist", name)
	}
	return domains[engine.FlowRevision](rows), nil
}

// DeleteFlow deletes the flow; its revisions stay for the executions that ran them.
func (s *Store) DeleteFlow(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&flowRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return engine.Errorf(engine.ENotFound, "flow %q does not exist", name)
	}
	return nil
}

func notFound(err error, format string, args ...any) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return engine.Errorf(engine.ENotFound, format, args...)
	}
	return err
}
