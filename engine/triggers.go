package engine

import (
	"context"
	"encoding/json"
	"time"
)

// Webhook lets another system start a flow over HTTP without an API client: a call to
// /api/v1/webhooks/{name}/call with the webhook's key runs Flow. Only the key's
// SHA-256 is stored; the key itself is shown once, when the server generates it.
type Webhook struct {
	Name      string    `json:"name"`
	Flow      string    `json:"flow"`
	KeyHash   string    `json:"-"`
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// WebhookStore persists webhooks. Its methods return an *Error with ENotFound for a
// missing webhook.
type WebhookStore interface {
	// PutWebhook creates the webhook or replaces it (keeping CreatedAt); created tells which.
	PutWebhook(ctx context.Context, w Webhook) (saved Webhook, created bool, err error)
	GetWebhook(ctx context.Context, name string) (Webhook, error)
	ListWebhooks(ctx context.Context) ([]Webhook, error)
	DeleteWebhook(ctx context.Context, name string) error
}

// Schedule runs a flow at the times of a cron expression, through a Temporal
// Schedule of the same name. The database row is what the API lists; the Temporal
// Schedule is what runs.
type Schedule struct {
	Name   string          `json:"name"`
	Flow   string          `json:"flow"`
	Cron   string          `json:"cron"`
	Inputs json.RawMessage `json:"inputs"`
	// Enabled false pauses the Temporal Schedule.
	Enabled bool `json:"enabled"`
	// Timezone is an IANA name ("Europe/Paris"); empty is UTC.
	Timezone string `json:"timezone"`
	// Overlap says what happens when a run is due while the previous one still runs:
	// skip (the default), buffer_one, buffer_all, cancel_other, terminate_other or allow_all.
	Overlap   string    `json:"overlap"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ScheduleStore persists schedules. Its methods return an *Error with ENotFound for a
// missing schedule.
type ScheduleStore interface {
	// PutSchedule creates the schedule or replaces it (keeping CreatedAt); created tells which.
	PutSchedule(ctx context.Context, s Schedule) (saved Schedule, created bool, err error)
	GetSchedule(ctx context.Context, name string) (Schedule, error)
	ListSchedules(ctx context.Context) ([]Schedule, error)
	DeleteSchedule(ctx context.Context, name string) error
}
