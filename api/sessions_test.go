package api

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

func TestSessionsSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		origin, host string
		want         bool
	}{
		{"http://127.0.0.1:8080", "127.0.0.1:8080", true},
		{"https://flowd.example.com", "flowd.example.com", true},
		{"https://FLOWD.example.com", "flowd.example.com", true},
		{"https://evil.example", "flowd.example.com", false},
		{"https://flowd.example.com.evil.example", "flowd.example.com", false},
		{"https://flowd.example.com:8443", "flowd.example.com", false},
		{"null", "flowd.example.com", false},
		{"flowd.example.com", "flowd.example.com", false},
	} {
		if got := sameOrigin(tc.origin, tc.host); got != tc.want {
			t.Errorf("sameOrigin(%q, %q) = %v, want %v", tc.origin, tc.host, got, tc.want)
		}
	}
}

func TestSessionsCheckCSRF(t *testing.T) {
	se := engine.Session{CSRFToken: "the-token"}
	for _, tc := range []struct {
		name, method, origin, token string
		wantErr                     string
	}{
		{"GETNeedsNone", "GET", "", "", ""},
		{"HEADNeedsNone", "HEAD", "https://evil.example", "", ""},
		{"POSTWithToken", "POST", "", "the-token", ""},
		{"POSTSameOrigin", "POST", "http://flowd.test", "the-token", ""},
		{"POSTWithoutToken", "POST", "", "", "X-CSRF-Token"},
		{"DELETEWrongToken", "DELETE", "", "the-tokeN", "X-CSRF-Token"},
		{"PUTCrossSite", "PUT", "https://evil.example", "the-token", "cross-site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://flowd.test/api/v1/flows/x", nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.token != "" {
				req.Header.Set(CSRFHeader, tc.token)
			}
			err := checkCSRF(echo.New().NewContext(req, httptest.NewRecorder()), se)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (engine.ErrorCode(err) != engine.EForbidden || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %v, want forbidden naming %q", err, tc.wantErr)
			}
		})
	}
}

func TestSessionsSecureRequest(t *testing.T) {
	s := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct {
		name, remote, proto string
		want                bool
	}{
		{"PlainHTTP", "192.0.2.1:5000", "", false},
		{"UntrustedSaysHTTPS", "192.0.2.1:5000", "https", false},
		{"TrustedSaysHTTPS", "10.1.2.3:5000", "https", true},
		{"TrustedSaysHTTP", "10.1.2.3:5000", "http", false},
		{"TrustedListFirstHTTPS", "10.1.2.3:5000", "https, http", true},
		{"MappedV6Trusted", "[::ffff:10.1.2.3]:5000", "https", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "http://flowd.test/api/v1/auth/login", nil)
			req.RemoteAddr = tc.remote
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if got := s.secureRequest(echo.New().NewContext(req, httptest.NewRecorder())); got != tc.want {
				t.Fatalf("secure = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSessionsEnd(t *testing.T) {
	a := &Auth{SessionIdle: time.Hour, SessionMax: 10 * time.Hour}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	se := engine.Session{CreatedAt: t0, LastSeenAt: t0.Add(2 * time.Hour), ExpiresAt: t0.Add(10 * time.Hour)}
	if got, want := a.sessionEnd(se), t0.Add(3*time.Hour); !got.Equal(want) {
		t.Errorf("idle end %v, want %v", got, want)
	}
	se.LastSeenAt = t0.Add(9*time.Hour + 30*time.Minute)
	if got, want := a.sessionEnd(se), t0.Add(10*time.Hour); !got.Equal(want) {
		t.Errorf("absolute end %v, want %v", got, want)
	}
	if got := (&Auth{SessionIdle: 2 * time.Second}).touchAfter(); got != 500*time.Millisecond {
		t.Errorf("touchAfter with a 2 s idle timeout = %v, want 500ms", got)
	}
	if got := (&Auth{}).touchAfter(); got != time.Minute {
		t.Errorf("touchAfter by default = %v, want 1m", got)
	}
}

func TestUsersPasswordHash(t *testing.T) {
	h1, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword("correct horse battery")
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") || h1 == h2 {
		t.Fatalf("hashes %q, %q: want argon2id PHC strings with salts of their own", h1, h2)
	}
	if !checkPassword("correct horse battery", h1) || checkPassword("correct horse batterY", h1) || checkPassword("x", "not a hash") {
		t.Fatal("checkPassword accepts a wrong password or a malformed hash, or refuses the right one")
	}
	if err := validPassword("elevenchars"); err == nil || !strings.Contains(err.Error(), "at least 12") {
		t.Fatalf("an 11-character password: %v", err)
	}
	if err := validPassword("äöüäöüäöüäöü"); err != nil {
		t.Fatalf("12 non-ASCII characters: %v", err)
	}
}

func TestFailureLimiterRetryAfter(t *testing.T) {
	var a Auth
	k := failKey{account: [32]byte{1}}
	for range maxFailures - 1 {
		a.fail(k)
	}
	if d := a.retryAfter(k); d != 0 {
		t.Fatalf("retryAfter after %d failures = %v, want 0", maxFailures-1, d)
	}
	a.fail(k)
	if d := a.retryAfter(k); d <= 0 || d > failWindow {
		t.Fatalf("retryAfter after %d failures = %v, want within the window", maxFailures, d)
	}
	if a.retryAfter(failKey{addr: netip.MustParseAddr("192.0.2.1")}) != 0 || a.failures.tracked() != 0 {
		t.Fatal("account failures were counted against an address")
	}
}
