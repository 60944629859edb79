package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowd/flowd/connectors/oauth"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func grantFor(url string) oauth.Grant {
	return oauth.Grant{Type: oauth.TypeClientCredentials, TokenURL: url, ClientID: "c", ClientSecret: "s"}
}

func TestCacheLifetime(t *testing.T) {
	// The fake clock must agree with the oauth2 package, which computes Expiry from
	// the real time.Now; the steps below are large against the test's run time.
	tests := []struct {
		name       string
		body       string
		steps      []time.Duration // advance the clock, then ask for a token
		wantTokens []string
	}{
		{"Reused", `{"access_token":"t%d","expires_in":3600}`, []time.Duration{0, time.Minute, 50 * time.Minute}, []string{"t1", "t1", "t1"}},
		{"RefreshedEarly", `{"access_token":"t%d","expires_in":3600}`, []time.Duration{0, 3600*time.Second - 40*time.Second, 15 * time.Second}, []string{"t1", "t1", "t2"}},
		{"NoExpiresInDefault5Min", `{"access_token":"t%d"}`, []time.Duration{0, 4 * time.Minute, 2 * time.Minute}, []string{"t1", "t1", "t2"}},
		{"ShortLifetimeHalf", `{"access_token":"t%d","expires_in":20}`, []time.Duration{0, 9 * time.Second, 2 * time.Second}, []string{"t1", "t1", "t2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := MustTokenServer(t, tt.body)
			clk := &clock{t: time.Now()}
			c := &oauth.Cache{}
			oauth.SetClock(c, clk.now)
			for i, step := range tt.steps {
				clk.add(step)
				tok, err := c.Token(context.Background(), "g", grantFor(ts.URL), nil)
				if err != nil {
					t.Fatal(err)
				}
				if tok.AccessToken != tt.wantTokens[i] {
					t.Errorf("step %d: token %s, want %s", i, tok.AccessToken, tt.wantTokens[i])
				}
			}
		})
	}
}

func TestCacheInvalidate(t *testing.T) {
	ts := MustTokenServer(t, `{"access_token":"t%d","expires_in":3600}`)
	c := &oauth.Cache{}
	get := func() string {
		tok, err := c.Token(context.Background(), "g", grantFor(ts.URL), nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	get()
	c.Invalidate("g", "stale-other") // not the cached token: no effect
	if got := get(); got != "t1" {
		t.Errorf("after invalidating another token: %s, want t1", got)
	}
	c.Invalidate("g", "t1")
	c.Invalidate("g", "t1") // a second 401 with the same token changes nothing
	if got := get(); got != "t2" {
		t.Errorf("after invalidate: %s, want t2", got)
	}
	if ts.count() != 2 {
		t.Errorf("fetches = %d, want 2", ts.count())
	}
	var nilCache *oauth.Cache
	nilCache.Invalidate("g", "t2") // safe
}

func TestCacheGrantChanged(t *testing.T) {
	ts := MustTokenServer(t, `{"access_token":"t%d","expires_in":3600}`)
	c := &oauth.Cache{}
	g := grantFor(ts.URL)
	c.Token(context.Background(), "g", g, nil)
	g.ClientSecret = "rotated"
	tok, err := c.Token(context.Background(), "g", g, nil)
	if err != nil || tok.AccessToken != "t2" {
		t.Errorf("after the grant changed: %v %v, want t2", tok, err)
	}
}

func TestCacheConcurrent(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	fetches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		mu.Lock()
		fetches++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"shared","expires_in":3600}`))
	}))
	defer srv.Close()
	c := &oauth.Cache{}
	var wg, started sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			tok, err := c.Token(context.Background(), "g", grantFor(srv.URL), nil)
			if err == nil && tok.AccessToken != "shared" {
				err = errors.New("wrong token " + tok.AccessToken)
			}
			errs <- err
		}()
	}
	started.Wait()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if fetches != 1 {
		t.Errorf("fetches = %d, want 1", fetches)
	}
}

func TestCacheSlowTokenEndpoint(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm() // the server notices a closed connection only once the body is read
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer srv.Close()
	defer close(stop)
	c := &oauth.Cache{FetchTimeout: 50 * time.Millisecond}
	start := time.Now()
	_, err := c.Token(context.Background(), "slow", grantFor(srv.URL), nil)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`OAuth2 grant "slow": no token within 50ms`, "did not answer in time", "check that the token URL is right"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %s", took)
	}
}

func TestCacheWaiterCancelled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"late","expires_in":3600}`))
	}))
	defer srv.Close()
	c := &oauth.Cache{}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := c.Token(ctx, "g", grantFor(srv.URL), nil)
		first <- err
	}()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The fetch goes on for others: a second caller gets its result.
	close(release)
	tok, err := c.Token(context.Background(), "g", grantFor(srv.URL), nil)
	if err != nil || tok.AccessToken != "late" {
		t.Errorf("token = %v, %v; want late", tok, err)
	}
}

func TestNilCacheFetches(t *testing.T) {
	ts := MustTokenServer(t, `{"access_token":"t%d","expires_in":3600}`)
	var c *oauth.Cache
	for range 2 {
		if _, err := c.Token(context.Background(), "g", grantFor(ts.URL), nil); err != nil {
			t.Fatal(err)
		}
	}
	if ts.count() != 2 {
		t.Errorf("fetches = %d, want 2", ts.count())
	}
}
