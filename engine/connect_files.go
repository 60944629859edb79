package engine

import (
	"context"
	"errors"
	"fmt"

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
// and writes (dst, large bodies), through the StateStore. What it writes has the
// call's secrets redacted, as everything else the call leaves behind: a viewer
// may read stored files (GET /api/v1/files/NAME) and a script may pass them on.
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

// WriteFile stores data as file name with the call's secrets redacted, binary
// data too (a secret's bytes inside a binary body are replaced, which changes
// the file), and returns the store's error (too large, say) with its message.
func (f callFiles) WriteFile(ctx context.Context, name string, data []byte) error {
	if _, err := f.state.SaveFile(ctx, name, f.red.Bytes(data)); err != nil {
		if ErrorCode(err) != EInternal {
			return errors.New(ErrorMessage(err))
		}
		return err
	}
	return nil
}

// withSecrets returns ctx with red as the connector's CallOptions.Redactor, for
// a call that stores no files (a saved connector's test).
func withSecrets(ctx context.Context, red *secrets.Redactor) context.Context {
	return rest.WithCallOptions(ctx, rest.CallOptions{Redactor: red})
}

// callContext returns ctx with the connector options of connection execution id:
// its idempotency key, the call's secrets, so that the connector redacts response
// bodies before it cuts excerpts of them, what to tell of each finished try
// (onTry), and (when this worker has a StateStore) stored files and where a large
// body goes.
func (a *Activities) callContext(ctx context.Context, id string, red *secrets.Redactor, onTry func(log []any, retrying bool)) context.Context {
	// The connection's id is the same for every run of the call, a re-run after a
	// worker crash included: the Idempotency-Key a server can deduplicate with.
	opts := rest.CallOptions{Redactor: red, IdempotencyKey: id, OnTry: onTry}
	if a.State != nil {
		opts.Files = callFiles{state: a.State, red: red}
		opts.LargeBodyFile, opts.InlineBodyBytes = largeBodyFile(id), inlineBodyBytes
	}
	return rest.WithCallOptions(ctx, opts)
}
