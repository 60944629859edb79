package oauth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/flowd/flowd/connectors/oauth"
)

// memShared is an in-memory SharedStore (the product's is a database table).
type memShared struct {
	mu     sync.Mutex
	tokens map[string]*oauth2.Token
	until  map[string]time.Time
}

func (m *memShared) LoadToken(_ context.Context, key string) (*oauth2.Token, time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[key]
	return t, m.until[key], ok, nil
}

func (m *memShared) SaveToken(_ context.Context, key string, tok *oauth2.Token, refreshAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		m.tokens, m.until = map[string]*oauth2.Token{}, map[string]time.Time{}
	}
	m.tokens[key], m.until[key] = tok, refreshAt
	return nil
}

func (m *memShared) DeleteToken(_ context.Context, key, access string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tokens[key]; ok && t.AccessToken == access {
		delete(m.tokens, key)
	}
	return nil
}

// TestCacheShared: two caches (two workers) over one shared store fetch a grant's
// token once; a 401 that invalidates it in one makes the other fetch anew.
func TestCacheShared(t *testing.T) {
	ts := MustTokenServer(t, `{"access_token":"t%d","expires_in":3600}`)
	shared := &memShared{}
	a, b := &oauth.Cache{Shared: shared}, &oauth.Cache{Shared: shared}
	ctx := context.Background()
	ta, err := a.Token(ctx, "g", grantFor(ts.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Token(ctx, "g", grantFor(ts.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ta.AccessToken != "t1" || tb.AccessToken != "t1" || ts.count() != 1 {
		t.Fatalf("tokens %s and %s after %d requests, want t1 from one request", ta.AccessToken, tb.AccessToken, ts.count())
	}
	a.Invalidate("g", "t1")
	c := &oauth.Cache{Shared: shared} // a third worker, after the 401
	tc, err := c.Token(ctx, "g", grantFor(ts.URL), nil)
	if err != nil || tc.AccessToken != "t2" {
		t.Fatalf("after invalidation: %v %v, want t2", tc, err)
	}
}
