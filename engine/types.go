// Package engine holds flowd's domain: flows, executions and their log lines, the store
// and runner interfaces, and the Temporal workflow and activities that run a flow's
// script durably.
package engine

import (
	"encoding/json"
	"time"
)

// Status is where an execution is in its life: PENDING → RUNNING (⇄ WAITING) → ENDED_*.
type Status string

// Execution statuses.
const (
	StatusPending        Status = "PENDING"
	StatusRunning        Status = "RUNNING"
	StatusWaiting        Status = "WAITING"
	StatusEndedSuccess   Status = "ENDED_SUCCESS"
	StatusEndedError     Status = "ENDED_ERROR"
	StatusEndedCancelled Status = "ENDED_CANCELLED"
)

// Ended reports whether the status is final.
func (s Status) Ended() bool {
	return s == StatusEndedSuccess || s == StatusEndedError || s == StatusEndedCancelled
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusRunning, StatusWaiting, StatusEndedSuccess, StatusEndedError, StatusEndedCancelled:
		return true
	}
	return false
}

// ExecutionType tells a flow run from a connector call.
type ExecutionType string

// Execution types.
const (
	TypeFlow       ExecutionType = "FLOW"
	TypeConnection ExecutionType = "CONNECTION"
)

// Trigger says what started a root execution.
type Trigger string

// Triggers.
const (
	TriggerAPI      Trigger = "api"
	TriggerWebhook  Trigger = "webhook"
	TriggerSchedule Trigger = "schedule"
	TriggerParent   Trigger = "parent"
	// TriggerDraft runs an unsaved script of a saved flow (POST
	// /api/v1/flows/{name}/draft-runs); the execution records the revision it was
	// based on, the flow's latest when it started.
	TriggerDraft Trigger = "draft"
	// TriggerRerun starts an execution again with its inputs (POST
	// /api/v1/executions/{id}/rerun); RerunOf names the original.
	TriggerRerun Trigger = "rerun"
	// TriggerReplay runs a script against an ended execution's recorded answers
	// (engine/replay.go).
	TriggerReplay Trigger = "replay"
)

// Flow is a named script with its latest revision.
type Flow struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Revision    int    `json:"revision"`
	Script      string `json:"script,omitempty"`
	// MaxRuntime bounds each execution, in seconds (0: the server's --max-runtime).
	MaxRuntime int `json:"max_runtime,omitempty"`
	// InputsSchema is the JSON Schema of the inputs of the latest revision (absent:
	// none declared); every start validates the inputs against it.
	InputsSchema json.RawMessage `json:"inputs_schema,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	// Author is who saved the latest revision (see FlowRevision.Author).
	Author *string `json:"author"`
}

// FlowRevision is one saved version of a flow's script. Executions run the revision they
// started with.
type FlowRevision struct {
	FlowName    string `json:"flow"`
	Revision    int    `json:"revision"`
	Script      string `json:"script"`
	Description string `json:"description"`
	// InputsSchema is the JSON Schema of the revision's inputs (absent: none).
	InputsSchema json.RawMessage `json:"inputs_schema,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	// Author is who saved the revision ("user:<name>", "client:<id>"); nil for
	// revisions saved before flowd kept it and for the seeded examples.
	Author *string `json:"author"`
}

// Execution is one run of a flow or one connector call, a node in a tree rooted at the
// execution a trigger started.
type Execution struct {
	ID            string          `json:"id"`
	Type          ExecutionType   `json:"type"`
	Name          string          `json:"name"`
	Status        Status          `json:"status"`
	StatusMessage string          `json:"status_message"`
	ParentID      *string         `json:"parent_id"`
	RootID        string          `json:"root_id"`
	FlowRevision  int             `json:"flow_revision"`
	Inputs        json.RawMessage `json:"inputs"`
	Outputs       json.RawMessage `json:"outputs"`
	Trigger       Trigger         `json:"trigger"`
	CreatedAt     time.Time       `json:"created_at"`
	StartedAt     *time.Time      `json:"started_at"`
	EndedAt       *time.Time      `json:"ended_at"`
	// Message is the pending this.message ({id, subject, body, fields, timeout}) while
	// the execution waits for an answer.
	Message json.RawMessage `json:"message,omitempty"`
	// ReplayOf is the execution whose recorded answers this one replayed: set on a
	// replay (trigger "replay"), on its child flows and on its replayed connections.
	ReplayOf *string `json:"replay_of"`
	// RerunOf is the execution this one re-runs with the same inputs (trigger "rerun").
	RerunOf *string `json:"rerun_of,omitempty"`
	// StartedBy is who started a root execution: "client:<id>", "user:<name>",
	// "webhook:<name>" or "schedule:<name>"; nil for child executions and for
	// executions recorded before flowd kept it.
	StartedBy *string `json:"started_by"`
}

// LogLine is one line an execution logged. Seq orders the lines of one execution and
// makes writing them idempotent: a replayed workflow writes the same seq again.
type LogLine struct {
	ExecutionID string    `json:"-"`
	Seq         int64     `json:"seq"`
	TS          time.Time `json:"ts"`
	Level       string    `json:"level"`
	Message     string    `json:"message"`
}

// Role is what an API client may do.
type Role string

// Roles, from most to least privileged.
const (
	RoleAdmin  Role = "admin"
	RoleEditor Role = "editor"
	RoleRunner Role = "runner"
	RoleViewer Role = "viewer"
)

// rank orders roles: a higher rank may do all that a lower one may.
func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 4
	case RoleEditor:
		return 3
	case RoleRunner:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Allows reports whether a client with role r may use a route that needs role need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() && r.rank() > 0 }

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// Client is an API client: an id, a hashed secret and a role.
type Client struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	SecretHash string    `json:"-"`
	Role       Role      `json:"role"`
	CreatedAt  time.Time `json:"created_at"`
	// Generation is random per creation and named in the client's tokens, so that
	// a deleted client's tokens stay dead when a client of the same id is created.
	Generation string `json:"-"`
}

// User is a person who signs in to the web UI: with a password (Source "password")
// or through single sign-on (Source "oidc", no password).
type User struct {
	Username string `json:"username"`
	Role     Role   `json:"role"`
	// PasswordHash is an argon2id PHC string ("$argon2id$v=19$m=...,t=...,p=...$salt$key");
	// empty for a user who signs in only through single sign-on.
	PasswordHash string    `json:"-"`
	Source       string    `json:"source"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// User sources.
const (
	UserSourcePassword = "password"
	UserSourceOIDC     = "oidc"
)

// Session is a user's browser session. The cookie holds a random value; only its
// SHA-256 (TokenHash) is stored, so that reading the database signs no one in.
type Session struct {
	// ID names the session in lists and DELETE; it is not the cookie value.
	ID        string
	TokenHash string
	Username  string
	CSRFToken string
	CreatedAt time.Time
	// LastSeenAt is updated at most once a minute (idle timeout).
	LastSeenAt time.Time
	// ExpiresAt is the absolute end, whatever the activity.
	ExpiresAt time.Time
	Address   string
	UserAgent string
}
