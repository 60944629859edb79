package engine

import (
	"context"
	"encoding/json"
	"time"
)

// AuditEntry is one record of the audit log: who did what to which target, when and
// from which address. Entries are only ever added.
type AuditEntry struct {
	// ID is a UUIDv7: with At it orders the log.
	ID string    `json:"id"`
	At time.Time `json:"at"`
	// Actor is who acted: "client:<id>", "user:<name>", "webhook:<name>",
	// "schedule:<name>", or "anonymous" for a request without credentials (a failed
	// sign-in).
	Actor string `json:"actor"`
	// ActorKind is the part of Actor before the colon ("client", "user", ...).
	ActorKind string `json:"actor_kind"`
	// Action is what was done, "<target type>.<verb>": "flow.save",
	// "execution.start", "secret.save", ...
	Action     string `json:"action"`
	TargetType string `json:"target_type"`
	Target     string `json:"target"`
	// Address is the client address of the request ("" for a schedule's run).
	Address string `json:"address"`
	// Detail is a JSON object with more about the action (never a secret's value).
	Detail json.RawMessage `json:"detail"`
}

// AuditFilter selects audit entries; zero fields do not filter.
type AuditFilter struct {
	Actor  string
	Action string
	Target string
	Since  time.Time // inclusive
	Until  time.Time // exclusive
	Limit  int
	Cursor string
}

// AuditLog stores the audit log. Implementations return EInvalid for a malformed
// cursor.
type AuditLog interface {
	// WriteAudit adds an entry; an empty ID or zero At is filled in.
	WriteAudit(ctx context.Context, e AuditEntry) error
	// ListAudit returns entries matching f, newest first, and the cursor of the next
	// page ("" on the last page).
	ListAudit(ctx context.Context, f AuditFilter) (items []AuditEntry, nextCursor string, err error)
}

// scheduleOf returns the name of the schedule whose run has workflow id id
// ("flowd-schedule-<name>-<RFC 3339 time>", set by Temporal), or "" for another id.
func scheduleOf(id string) string {
	const stamp = len("-2006-01-02T15:04:05Z")
	if len(id) <= len(scheduleIDPrefix)+stamp || id[:len(scheduleIDPrefix)] != scheduleIDPrefix {
		return ""
	}
	rest := id[len(scheduleIDPrefix):]
	if _, err := time.Parse(time.RFC3339, rest[len(rest)-stamp+1:]); err != nil {
		return ""
	}
	return rest[:len(rest)-stamp]
}

// AuditDetail encodes an audit entry's detail; nil is the empty object.
func AuditDetail(m map[string]any) json.RawMessage {
	if len(m) == 0 {
		return json.RawMessage("{}")
	}
	b, err := json.Marshal(m)
	if err != nil {
		// Only values a handler chose go in; one that JSON cannot encode is a bug
		// that must not lose the entry.
		b, _ = json.Marshal(map[string]string{"error": "detail cannot be encoded: " + err.Error()})
	}
	return b
}
