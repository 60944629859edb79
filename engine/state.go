package engine

import (
	"context"
	"encoding/json"
	"regexp"
	"time"
)

// nameRE is what every name a user gives must match: flows, files, settings,
// secrets, connectors, webhooks, schedules and API clients. It has no '/', so a
// name is one path segment of the API, and cannot start with '.', so it is never
// "." or "..".
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// ValidName returns nil when name is a valid name for a kind of thing ("file",
// "flow", ...), and otherwise an EInvalid error that says what a name may hold. The
// API and the engine (system.file, a REST call's dst) check names with it alone,
// so that whatever a flow stores, the API can name.
func ValidName(kind, name string) error {
	if !nameRE.MatchString(name) {
		shown := name
		if len(shown) > 140 {
			shown = shown[:128] + "..." // a megabyte-long name is not echoed back
		}
		return Errorf(EInvalid, "%s name %q is not valid: use 1-128 letters, digits, '_', '-' or '.', starting with a letter or digit", kind, shown)
	}
	return nil
}

// Setting is a named JSON value shared between executions (system.setting).
type Setting struct {
	Name      string          `json:"name"`
	Value     json.RawMessage `json:"value"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// File is a stored file (system.file, /api/v1/files). Content is left out of lists.
type File struct {
	Name      string    `json:"name"`
	Size      int64     `json:"size"`
	Content   []byte    `json:"-"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MaxFileBytes bounds a file a flow reads or writes with system.file: its content
// passes through the workflow's history, whose payloads Temporal limits to 2 MB.
const MaxFileBytes = 1 << 20

// MaxStoredFileBytes bounds any stored file. Files above MaxFileBytes are written
// outside the history only, by the REST connector (dst, and response bodies too
// large for the outputs, up to its 10 MiB body limit), and are read outside it:
// as multipart file parts, by dst-less connectors, and with GET /api/v1/files.
const MaxStoredFileBytes = 16 << 20

// StateStore persists settings and files. Get methods return ENotFound when absent.
type StateStore interface {
	GetSetting(ctx context.Context, name string) (Setting, error)
	SaveSetting(ctx context.Context, name string, value json.RawMessage) (Setting, error)
	ListSettings(ctx context.Context) ([]Setting, error)
	DeleteSetting(ctx context.Context, name string) error
	GetFile(ctx context.Context, name string) (File, error)
	SaveFile(ctx context.Context, name string, content []byte) (File, error)
	ListFiles(ctx context.Context) ([]File, error)
	DeleteFile(ctx context.Context, name string) error
}
