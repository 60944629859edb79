package rest

import (
	"context"

	"github.com/flowd/flowd/secrets"
)

// CallOptions are what one call gets from the engine besides its inputs: the
// stored files it may read and write, and where a response body too large for
// the outputs goes. They belong to one call (the engine redacts each call's
// secrets from the files it writes, and names the large-body file after the
// CONNECTION execution), so they travel in the call's context: a wrapper around
// the Connector (metrics, say) then passes them on without knowing them.
type CallOptions struct {
	// Files replaces Connector.Files for this call.
	Files FileStore
	// LargeBodyFile names the stored file that a response body larger than
	// InlineBodyBytes is written to instead of the outputs, which then hold
	// body_file and size. Empty: bodies up to MaxBodyBytes stay in the outputs.
	LargeBodyFile string
	// InlineBodyBytes is the largest body (as it appears in the outputs: base64
	// for bytes) kept in the outputs when LargeBodyFile is set; 0: no limit.
	InlineBodyBytes int64
	// Redactor holds the secrets the call's inputs were resolved from. The
	// connector replaces them in response bodies before it stores them or cuts
	// an excerpt for an error message (a secret cut in half, or with its
	// whitespace collapsed, would no longer be recognised afterwards). The
	// caller still redacts the outputs and the error. nil: no secrets.
	Redactor *secrets.Redactor
	// IdempotencyKey is sent as the Idempotency-Key header of a POST, PUT, PATCH
	// or DELETE unless the inputs say otherwise (idempotency_key, headers). It must
	// be the same for every run of one call, a run again after a worker crashed
	// included, so that a server that honours the header acts on the call once:
	// the engine gives the CONNECTION execution's id. Empty: a random key per call,
	// which still covers the call's own retries.
	IdempotencyKey string
	// OnTry, when set, is called after each finished try, before the wait for
	// the next one, with the call's log so far: the entries the outputs' log
	// will start with, the call's tokens redacted as there (the caller redacts
	// its secrets, as it does the outputs). retrying tells that another try
	// follows: the last entry then has retry_in_seconds. It runs on the call's
	// goroutine and delays the call until it returns; it may keep log.
	OnTry func(log []any, retrying bool)
}

type optionsKey struct{}

// WithCallOptions returns ctx carrying o for the calls made with it.
func WithCallOptions(ctx context.Context, o CallOptions) context.Context {
	return context.WithValue(ctx, optionsKey{}, o)
}

// callOptions returns the options in ctx, with Files defaulting to c.Files.
func (c *Connector) callOptions(ctx context.Context) CallOptions {
	o, _ := ctx.Value(optionsKey{}).(CallOptions)
	if o.Files == nil {
		o.Files = c.Files
	}
	if o.Files == nil {
		o.LargeBodyFile = "" // nowhere to put it: the body stays in the outputs
	}
	return o
}
