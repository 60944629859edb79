package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/flowd/flowd/connectors/oauth"
	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/secrets"
)

// TestTokensSharedAcrossWorkers: two workers (two token caches) of one deployment
// share a grant's token through the database: the token endpoint is asked once; a
// worker that starts later finds it too.
func TestTokensSharedAcrossWorkers(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := calls.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token": "shared-token-%d", "token_type": "Bearer", "expires_in": 3600}`, n)
		}))
		defer srv.Close()
		key := make([]byte, 32)
		rand.Read(key)
		keys, err := secrets.NewKeyring(key)
		if err != nil {
			t.Fatal(err)
		}
		shared := &engine.SharedTokens{Store: b.app.Store, Keys: keys}
		grant := oauth.Grant{Type: oauth.TypeClientCredentials, TokenURL: srv.URL, ClientID: "c", ClientSecret: "s", AuthStyle: "header"}
		name := unique("grant")
		ctx := context.Background()
		for i := range 3 {
			worker := &oauth.Cache{Shared: shared} // a fresh process each time
			tok, err := worker.Token(ctx, name, grant, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "shared-token-1" {
				t.Fatalf("worker %d got %s", i, tok.AccessToken)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("the token endpoint was asked %d times, want once", n)
		}
		// A 401 with that token in one worker drops it for all.
		w := &oauth.Cache{Shared: shared}
		if _, err := w.Token(ctx, name, grant, nil); err != nil {
			t.Fatal(err)
		}
		w.Invalidate(name, "shared-token-1")
		tok, err := (&oauth.Cache{Shared: shared}).Token(ctx, name, grant, nil)
		if err != nil || tok.AccessToken != "shared-token-2" {
			t.Fatalf("after a 401: %v %v, want shared-token-2", tok, err)
		}
	})
}
