package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// Defaults of a Cache whose fields are zero.
const (
	DefaultFetchTimeout    = 30 * time.Second // how long one token request may take
	DefaultEarlyRefresh    = 30 * time.Second // refresh this long before a token expires
	DefaultUnknownLifetime = 5 * time.Minute  // lifetime of a token whose server omits expires_in
)

// Cache holds access tokens per grant name and shares them between calls. A token
// is refreshed EarlyRefresh before it expires (at most half its lifetime early), a
// token without expires_in is kept DefaultUnknownLifetime, and many concurrent
// callers that need a token cause one request to the token endpoint.
//
// The zero value is ready to use. A nil *Cache fetches a new token on every call.
type Cache struct {
	FetchTimeout    time.Duration // 0: DefaultFetchTimeout
	EarlyRefresh    time.Duration // 0: DefaultEarlyRefresh
	UnknownLifetime time.Duration // 0: DefaultUnknownLifetime
	// Shared, when set, is a second level shared by the processes of a deployment
	// (a table in their database), so that its workers fetch a grant's token once,
	// not once each.
	Shared SharedStore

	now func() time.Time // for tests; nil: time.Now

	mu     sync.Mutex
	tokens map[string]cached
	flight singleflight.Group
}

type cached struct {
	token       *oauth2.Token
	fingerprint string
	refreshAt   time.Time
}

// SharedStore keeps tokens for all processes of a deployment. key identifies a grant
// and its configuration; it holds no secret.
type SharedStore interface {
	LoadToken(ctx context.Context, key string) (tok *oauth2.Token, refreshAt time.Time, ok bool, err error)
	SaveToken(ctx context.Context, key string, tok *oauth2.Token, refreshAt time.Time) error
	// DeleteToken drops the token under key if it is still accessToken.
	DeleteToken(ctx context.Context, key, accessToken string) error
}

// sharedKey names a grant's token in the shared store.
func sharedKey(name, fp string) string { return name + "/" + fp }

// Token returns a valid access token for the grant saved as name, from the cache
// or fetched with client (nil: http.DefaultClient). A fetch is shared by all callers
// waiting for the same grant and is not cancelled when one of them gives up; it
// takes at most FetchTimeout. On failure it returns an error naming the grant and
// saying what to check; ctx's error when ctx ends first.
func (c *Cache) Token(ctx context.Context, name string, g Grant, client *http.Client) (*oauth2.Token, error) {
	if c == nil {
		fctx, cancel := context.WithTimeout(ctx, DefaultFetchTimeout)
		defer cancel()
		tok, err := g.Fetch(fctx, client)
		return tok, wrapGrant(name, DefaultFetchTimeout, err)
	}
	fp := g.fingerprint()
	if tok := c.lookup(name, fp); tok != nil {
		return tok, nil
	}
	ch := c.flight.DoChan(name+"\x00"+fp, func() (any, error) {
		// A flight that ended just before this one began may have stored a token.
		if tok := c.lookup(name, fp); tok != nil {
			return tok, nil
		}
		timeout := c.fetchTimeout()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if c.Shared != nil {
			// Another worker may have fetched it. A store that fails is only a cache
			// miss: the token endpoint is still there.
			if tok, refreshAt, ok, err := c.Shared.LoadToken(fctx, sharedKey(name, fp)); err == nil && ok && c.clock().Before(refreshAt) {
				c.storeUntil(name, fp, tok, refreshAt)
				return tok, nil
			}
		}
		obtained := c.clock()
		tok, err := g.Fetch(fctx, client)
		if err != nil {
			return nil, wrapGrant(name, timeout, err)
		}
		refreshAt := c.store(name, fp, tok, obtained)
		if c.Shared != nil {
			_ = c.Shared.SaveToken(fctx, sharedKey(name, fp), tok, refreshAt)
		}
		return tok, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*oauth2.Token), nil
	}
}

// Invalidate drops the cached token of grant name if it is still accessToken, so
// the next Token call fetches a new one. Callers that got a 401 with the same
// token all invalidate it, but only the first drop has an effect. Safe on nil.
func (c *Cache) Invalidate(name, accessToken string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	e, ok := c.tokens[name]
	if ok && e.token.AccessToken == accessToken {
		delete(c.tokens, name)
	}
	c.mu.Unlock()
	if ok && c.Shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Shared.DeleteToken(ctx, sharedKey(name, e.fingerprint), accessToken)
	}
}

func (c *Cache) lookup(name, fp string) *oauth2.Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tokens[name]
	if !ok || e.fingerprint != fp || !c.clock().Before(e.refreshAt) {
		return nil
	}
	return e.token
}

// store caches a token fetched at obtained and returns when it is to be refreshed.
func (c *Cache) store(name, fp string, tok *oauth2.Token, obtained time.Time) time.Time {
	lifetime := c.unknownLifetime()
	if !tok.Expiry.IsZero() {
		lifetime = tok.Expiry.Sub(obtained)
	}
	early := c.earlyRefresh()
	if early > lifetime/2 {
		early = lifetime / 2
	}
	refreshAt := obtained.Add(lifetime - early)
	c.storeUntil(name, fp, tok, refreshAt)
	return refreshAt
}

func (c *Cache) storeUntil(name, fp string, tok *oauth2.Token, refreshAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens == nil {
		c.tokens = map[string]cached{}
	}
	c.tokens[name] = cached{token: tok, fingerprint: fp, refreshAt: refreshAt}
}

func (c *Cache) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

func (c *Cache) fetchTimeout() time.Duration { return orDefault(c.FetchTimeout, DefaultFetchTimeout) }
func (c *Cache) earlyRefresh() time.Duration { return orDefault(c.EarlyRefresh, DefaultEarlyRefresh) }
func (c *Cache) unknownLifetime() time.Duration {
	return orDefault(c.UnknownLifetime, DefaultUnknownLifetime)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// wrapGrant names the grant in err and states the fetch timeout when it ran out.
func wrapGrant(name string, timeout time.Duration, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("OAuth2 grant %q: no token within %s: %w", name, timeout, err)
	}
	return fmt.Errorf("OAuth2 grant %q: %w", name, err)
}
