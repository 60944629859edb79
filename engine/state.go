package engine

import (
	"context"
	"encoding/json"
	"time"
)

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
