package engine

import (
	"context"
	"encoding/json"
	"time"
)

// Store persists flows, executions, log lines and API clients. Implementations return
// an *Error with ENotFound for a missing record and EConflict for a duplicate.
type Store interface {
	// SaveFlow creates a flow or adds a revision; maxRuntime is in seconds (0: the
	// server default), inputsSchema the revision's JSON Schema of the inputs (empty
	// or null: none), author who saves it (empty: none recorded).
	SaveFlow(ctx context.Context, name, script, description string, maxRuntime int, inputsSchema json.RawMessage, author string) (Flow, error)
	GetFlow(ctx context.Context, name string) (Flow, error)
	GetFlowRevision(ctx context.Context, name string, revision int) (FlowRevision, error)
	ListFlows(ctx context.Context) ([]Flow, error)
	FlowRevisions(ctx context.Context, name string) ([]FlowRevision, error)
	DeleteFlow(ctx context.Context, name string) error

	GetExecution(ctx context.Context, id string) (Execution, error)
	ListExecutions(ctx context.Context, f ExecutionFilter) (items []Execution, nextCursor string, err error)
	Children(ctx context.Context, id string) ([]Execution, error)
	// Record applies a batch of progress in one transaction. Creating an execution that
	// exists and writing a log line whose seq exists are no-ops, so that a replayed or
	// retried activity records nothing twice.
	Record(ctx context.Context, p Progress) error
	Logs(ctx context.Context, executionID string, after int64, limit int) ([]LogLine, error)

	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	DeleteClient(ctx context.Context, id string) error
	CountClients(ctx context.Context) (int64, error)
	// ServerKey returns the value stored under name, storing generate() first when there
	// is none, so that all processes sharing the database agree on it.
	ServerKey(ctx context.Context, name string, generate func() (string, error)) (string, error)

	Ping(ctx context.Context) error

	UserStore
}

// UserStore persists user accounts and their browser sessions. Like Store it returns
// ENotFound for a missing record and EConflict for a duplicate.
type UserStore interface {
	// CreateUser stores a new user, or returns EConflict when the username is taken.
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, username string) (User, error)
	// UpdateUser writes u's role, password hash, source, disabled and updated_at.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser deletes a user and their sessions.
	DeleteUser(ctx context.Context, username string) error
	ListUsers(ctx context.Context) ([]User, error)
	CountUsers(ctx context.Context) (int64, error)

	CreateSession(ctx context.Context, s Session) error
	// SessionByToken returns the session whose cookie value hashes to tokenHash.
	SessionByToken(ctx context.Context, tokenHash string) (Session, error)
	// TouchSession sets a session's last_seen_at.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// ListSessions returns a user's sessions, newest first.
	ListSessions(ctx context.Context, username string) ([]Session, error)
	// DeleteSession deletes one of username's sessions, or returns ENotFound.
	DeleteSession(ctx context.Context, username, id string) error
	// DeleteSessions deletes all of username's sessions.
	DeleteSessions(ctx context.Context, username string) error
	// DeleteEndedSessions deletes sessions whose absolute end is before now or that
	// were last seen before idleSince, and returns how many.
	DeleteEndedSessions(ctx context.Context, now, idleSince time.Time) (int64, error)
}

// ExecutionFilter selects executions for a list; zero fields do not filter.
type ExecutionFilter struct {
	Flow     string
	Status   Status
	Type     ExecutionType
	Trigger  Trigger
	ParentID string
	RootID   string
	// TopLevel keeps only executions without a parent (what a trigger started).
	TopLevel bool
	Since    time.Time
	Until    time.Time
	Limit    int
	Cursor   string
	// Inputs matches executions whose inputs hold these values at these paths
	// (dotted, like "customer.id"); values are JSON values.
	Inputs map[string]any
}

// Progress is what an execution did since it was last recorded.
type Progress struct {
	Create  []Execution
	Updates []ExecutionUpdate
	Logs    []LogLine
	// Created, when set, receives how many of Create were new (the others existed).
	Created *int64 `json:"-"`
	// Audit are audit log entries to write in the same transaction (a scheduled
	// run's start, which no API request records).
	Audit []AuditEntry `json:"-"`
}

// ExecutionUpdate changes an execution's status and, when set, its other fields.
type ExecutionUpdate struct {
	ID            string          `json:"id"`
	Status        Status          `json:"status,omitempty"`
	StatusMessage *string         `json:"status_message,omitempty"`
	Outputs       json.RawMessage `json:"outputs,omitempty"`
	StartedAt     *time.Time      `json:"started_at,omitempty"`
	EndedAt       *time.Time      `json:"ended_at,omitempty"`
	// Message sets the pending message; the JSON null clears it.
	Message json.RawMessage `json:"message,omitempty"`
}
