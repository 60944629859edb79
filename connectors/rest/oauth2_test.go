package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flowd/flowd/connectors/oauth"
	"github.com/flowd/flowd/connectors/rest"
)

func asStatus(err error, se **rest.StatusError) bool { return errors.As(err, se) }

// oauthAPI is a token endpoint and an API that accepts only the newest token.
type oauthAPI struct {
	url      string
	fetches  atomic.Int32
	mu       sync.Mutex
	valid    string
	release  chan struct{} // if set, the token endpoint waits for it
	apiCalls atomic.Int32
}

func MustOAuthAPI(tb testing.TB) *oauthAPI {
	a := &oauthAPI{}
	a.url = MustServer(tb, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/token":
			if a.release != nil {
				<-a.release
			}
			id, secret, _ := r.BasicAuth()
			if id != "cid" || secret != "csecret" || r.FormValue("grant_type") != "client_credentials" {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":"invalid_client","error_description":"bad secret"}`)
				return
			}
			n := a.fetches.Add(1)
			a.mu.Lock()
			a.valid = fmt.Sprintf("tok-%d", n)
			a.mu.Unlock()
			fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"bearer","expires_in":3600}`, n)
		case "/api":
			a.apiCalls.Add(1)
			a.mu.Lock()
			ok := r.Header.Get("Authorization") == "Bearer "+a.valid
			a.mu.Unlock()
			if !ok {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"auth": r.Header.Get("Authorization")})
		}
	})
	return a
}

func (a *oauthAPI) connector(cache *oauth.Cache) *rest.Connector {
	return &rest.Connector{Tokens: cache, Grants: func(_ context.Context, name string) (oauth.Grant, error) {
		if name != "api" {
			return oauth.Grant{}, errors.New("no such grant")
		}
		return oauth.Grant{Type: oauth.TypeClientCredentials, TokenURL: a.url + "/token", ClientID: "cid", ClientSecret: "csecret"}, nil
	}}
}

func TestOAuth2Grant(t *testing.T) {
	a := MustOAuthAPI(t)
	c := a.connector(&oauth.Cache{})
	for i := 1; i <= 3; i++ {
		out := MustCall(t, c, map[string]any{"url": a.url + "/api", "grant": "api"})
		if got := JSONOut(t, out)["auth"]; got != "Bearer tok-1" {
			t.Errorf("call %d: Authorization = %v, want Bearer tok-1", i, got)
		}
	}
	if n := a.fetches.Load(); n != 1 {
		t.Errorf("token fetched %d times, want once (cached)", n)
	}
}

func TestOAuth2NoCache(t *testing.T) {
	a := MustOAuthAPI(t)
	c := a.connector(nil)
	MustCall(t, c, map[string]any{"url": a.url + "/api", "grant": "api"})
	MustCall(t, c, map[string]any{"url": a.url + "/api", "grant": "api"})
	if n := a.fetches.Load(); n != 2 {
		t.Errorf("token fetched %d times, want 2 without a cache", n)
	}
}

func TestOAuth2RefreshOn401(t *testing.T) {
	a := MustOAuthAPI(t)
	c := a.connector(&oauth.Cache{})
	MustCall(t, c, map[string]any{"url": a.url + "/api", "grant": "api"})
	// The server revokes tok-1 (it is no longer the valid one).
	a.mu.Lock()
	a.valid = "revoked"
	a.mu.Unlock()
	out := MustCall(t, c, map[string]any{"url": a.url + "/api", "grant": "api"})
	if got := JSONOut(t, out)["auth"]; got != "Bearer tok-2" {
		t.Errorf("Authorization = %v, want Bearer tok-2", got)
	}
	WantContains(t, logText(t, out), "answered 401 Unauthorized; getting a new token")
	if n := a.apiCalls.Load(); n != 3 {
		t.Errorf("API called %d times, want 3", n)
	}
}

func TestOAuth2RefreshOnlyOnce(t *testing.T) {
	var fetches atomic.Int32
	srv := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			fetches.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"access_token":"t","token_type":"bearer"}`)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	})
	c := &rest.Connector{Tokens: &oauth.Cache{}, Grants: func(context.Context, string) (oauth.Grant, error) {
		return oauth.Grant{Type: "client_credentials", TokenURL: srv + "/token", ClientID: "c", ClientSecret: "s", AuthStyle: "body"}, nil
	}}
	_, err := CallErr(t, c, map[string]any{"url": srv + "/api", "grant": "g"})
	WantContains(t, err.Error(), "answered 401")
	if n := fetches.Load(); n != 2 {
		t.Errorf("token fetched %d times, want 2 (first and one refresh)", n)
	}
}

func TestOAuth2Concurrent(t *testing.T) {
	a := MustOAuthAPI(t)
	a.release = make(chan struct{})
	c := a.connector(&oauth.Cache{})
	const calls = 50
	errs := make(chan error, calls)
	var started sync.WaitGroup
	for range calls {
		started.Add(1)
		go func() {
			started.Done()
			_, err := c.Call(context.Background(), map[string]any{"url": a.url + "/api", "grant": "api"})
			errs <- err
		}()
	}
	started.Wait()
	close(a.release) // the token endpoint answers once every call has started
	for range calls {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := a.fetches.Load(); n != 1 {
		t.Errorf("token endpoint hit %d times, want 1", n)
	}
}

func TestOAuth2Errors(t *testing.T) {
	a := MustOAuthAPI(t)
	tests := []struct {
		name   string
		grants rest.GrantResolver
		grant  string
		input  bool
		want   []string
	}{
		{"ErrUnknownGrant", a.connector(nil).Grants, "nope", true, []string{`OAuth2 grant "nope" cannot be loaded`, "check the grant name"}},
		{"ErrIncompleteGrant", func(context.Context, string) (oauth.Grant, error) {
			return oauth.Grant{Type: "client_credentials", TokenURL: a.url + "/token"}, nil
		}, "g", true, []string{"set the client secret", "set the client id", "fix the saved grant"}},
		{"ErrRefused", func(context.Context, string) (oauth.Grant, error) {
			return oauth.Grant{Type: "client_credentials", TokenURL: a.url + "/token", ClientID: "cid", ClientSecret: "wrong"}, nil
		}, "g", false, []string{`OAuth2 grant "g"`, "refused the token request", "invalid_client: bad secret", "check the grant's client id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &rest.Connector{Grants: tt.grants, Tokens: &oauth.Cache{}}
			out, err := CallErr(t, c, map[string]any{"url": a.url + "/api", "grant": tt.grant})
			if tt.input {
				WantInputError(t, err, tt.want...)
				return
			}
			WantContains(t, err.Error(), tt.want...)
			if n := len(out["log"].([]any)); n != 1 {
				t.Errorf("log has %d entries, want 1: token errors are not retried by the connector", n)
			}
		})
	}
}
