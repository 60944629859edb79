package engine

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/flowd/flowd/connectors/rest"
	"github.com/flowd/flowd/secrets"
)

// inlineBodyBytes is the largest response body a connection keeps in its outputs;
// a larger one is stored in the file largeBodyFile names. It leaves room under
// maxOutputBytes for the headers and the log.
const inlineBodyBytes = 768 << 10

// largeBodyFile names the stored file that holds the response body of connection
// execution id when it is too large for the outputs. The name is one the files
// API accepts, and a retried activity writes the same file again.
func largeBodyFile(id string) string { return "response-" + id }

// callFiles are the stored files one connector call reads (multipart file parts)
// and writes (dst, large bodies), through the StateStore. Text it writes has the
// call's secrets redacted, as everything else the call leaves behind.
type callFiles struct {
	state StateStore
	red   *secrets.Redactor
}

var _ rest.FileStore = callFiles{}

// ReadFile returns a stored file's content, or an error that says how to create it.
func (f callFiles) ReadFile(ctx context.Context, name string) ([]byte, error) {
	file, err := f.state.GetFile(ctx, name)
	if ErrorCode(err) == ENotFound {
		return nil, fmt.Errorf("file %q does not exist; upload it with PUT /api/v1/files/%s or save it with system.file(%q)", name, name, name)
	}
	if err != nil {
		return nil, err
	}
	return file.Content, nil
}

// WriteFile stores data as file name, redacted when it is text, and returns the
// store's error (too large, say) with its message.
func (f callFiles) WriteFile(ctx context.Context, name string, data []byte) error {
	if f.red != nil && utf8.Valid(data) {
		data = []byte(f.red.String(string(data)))
	}
	if _, err := f.state.SaveFile(ctx, name, data); err != nil {
		if ErrorCode(err) != EInternal {
			return errors.New(ErrorMessage(err))
		}
		return err
	}
	return nil
}

// callContext returns ctx with the connector options of connection execution id:
// stored files (when this worker has a StateStore) and where a large body goes.
func (a *Activities) callContext(ctx context.Context, id string, red *secrets.Redactor) context.Context {
	if a.State == nil {
		return ctx
	}
	return rest.WithCallOptions(ctx, rest.CallOptions{
		Files:           callFiles{state: a.State, red: red},
		LargeBodyFile:   largeBodyFile(id),
		InlineBodyBytes: inlineBodyBytes,
	})
}
