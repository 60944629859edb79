package store

import (
	"encoding/json"
	"time"

	"github.com/flowd/flowd/engine"
)

// The row types mirror the tables of migrations/; they stay inside this package so that
// the domain types carry no gorm tags.

type flowRow struct {
	Name        string `gorm:"primaryKey"`
	Description string
	Revision    int
	Script      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// MaxRuntimeSeconds bounds each execution's runtime (0: the server default).
	MaxRuntimeSeconds int
	// InputsSchema is the latest revision's JSON Schema of the inputs ('': none).
	InputsSchema string
	// Author is who saved the latest revision (NULL: not recorded).
	Author *string
}

func (flowRow) TableName() string { return "flows" }

func (r flowRow) domain() engine.Flow {
	return engine.Flow{Name: r.Name, Description: r.Description, Revision: r.Revision, Script: r.Script,
		MaxRuntime: r.MaxRuntimeSeconds, InputsSchema: schemaJSON(r.InputsSchema), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Author: r.Author}
}

type revisionRow struct {
	FlowName    string `gorm:"primaryKey"`
	Revision    int    `gorm:"primaryKey"`
	Script      string
	Description string
	CreatedAt   time.Time
	// InputsSchema is the revision's JSON Schema of the inputs ('': none).
	InputsSchema string
	// Author is who saved the revision (NULL: not recorded).
	Author *string
}

func (revisionRow) TableName() string { return "flow_revisions" }

func (r revisionRow) domain() engine.FlowRevision {
	return engine.FlowRevision{FlowName: r.FlowName, Revision: r.Revision, Script: r.Script,
		Description: r.Description, InputsSchema: schemaJSON(r.InputsSchema), CreatedAt: r.CreatedAt.UTC(), Author: r.Author}
}

type executionRow struct {
	ID            string `gorm:"primaryKey"`
	Type          string
	Name          string
	Status        string
	StatusMessage string
	ParentID      *string
	RootID        string
	FlowRevision  int
	Inputs        string
	Outputs       string
	Trigger       string
	CreatedAt     time.Time
	StartedAt     *time.Time
	EndedAt       *time.Time
	Message       *string
	ReplayOf      *string
	RerunOf       *string
	StartedBy     *string
}

func (executionRow) TableName() string { return "executions" }

func toExecutionRow(e engine.Execution) executionRow {
	return executionRow{
		ID: e.ID, Type: string(e.Type), Name: e.Name, Status: string(e.Status), StatusMessage: e.StatusMessage,
		ParentID: e.ParentID, RootID: e.RootID, FlowRevision: e.FlowRevision,
		Inputs: jsonText(e.Inputs), Outputs: jsonText(e.Outputs), Trigger: string(e.Trigger),
		CreatedAt: e.CreatedAt.UTC(), StartedAt: utcPtr(e.StartedAt), EndedAt: utcPtr(e.EndedAt),
		ReplayOf: e.ReplayOf, RerunOf: e.RerunOf, StartedBy: e.StartedBy,
	}
}

func (r executionRow) domain() engine.Execution {
	return engine.Execution{
		ID: r.ID, Type: engine.ExecutionType(r.Type), Name: r.Name, Status: engine.Status(r.Status),
		StatusMessage: r.StatusMessage, ParentID: r.ParentID, RootID: r.RootID, FlowRevision: r.FlowRevision,
		Inputs: json.RawMessage(r.Inputs), Outputs: json.RawMessage(r.Outputs), Trigger: engine.Trigger(r.Trigger),
		CreatedAt: r.CreatedAt.UTC(), StartedAt: utcPtr(r.StartedAt), EndedAt: utcPtr(r.EndedAt),
		Message: rawPtr(r.Message), ReplayOf: r.ReplayOf, RerunOf: r.RerunOf, StartedBy: r.StartedBy,
	}
}

// domains converts rows to their domain values.
func domains[T any, R interface{ domain() T }](rows []R) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

func rawPtr(s *string) json.RawMessage {
	if s == nil {
		return nil
	}
	return json.RawMessage(*s)
}

type logRow struct {
	ExecutionID string `gorm:"primaryKey"`
	Seq         int64  `gorm:"primaryKey"`
	TS          time.Time
	Level       string
	Message     string
}

func (logRow) TableName() string { return "log_lines" }

type clientRow struct {
	ID         string `gorm:"primaryKey"`
	Name       string
	SecretHash string
	Role       string
	CreatedAt  time.Time
	Generation string
}

func (clientRow) TableName() string { return "api_clients" }

func (r clientRow) domain() engine.Client {
	return engine.Client{ID: r.ID, Name: r.Name, SecretHash: r.SecretHash, Role: engine.Role(r.Role), CreatedAt: r.CreatedAt.UTC(), Generation: r.Generation}
}

type serverKeyRow struct {
	Name      string `gorm:"primaryKey"`
	Value     string
	CreatedAt time.Time
}

func (serverKeyRow) TableName() string { return "server_keys" }

func jsonText(m json.RawMessage) string {
	if len(m) == 0 {
		return "{}"
	}
	return string(m)
}

// schemaJSON is a stored inputs_schema as JSON: nil for none.
func schemaJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
