package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

const (
	// SessionCookie holds a browser session's random value (32 bytes, base64url).
	SessionCookie = "flowd_session"
	// CSRFHeader must carry the session's csrf_token on every state-changing request
	// that the session cookie authenticates.
	CSRFHeader = "X-CSRF-Token"

	// DefaultSessionIdle and DefaultSessionMax are the timeouts when none is configured.
	DefaultSessionIdle = 12 * time.Hour
	DefaultSessionMax  = 7 * 24 * time.Hour
	// touchEvery bounds the writes of last_seen_at: at most one a minute per session
	// (less when the idle timeout is short; see touchAfter).
	touchEvery = time.Minute
)

// touchAfter is how old last_seen_at may get before a request writes it again: a
// minute, or a quarter of a short idle timeout, so that a session in use never idles out.
func (a *Auth) touchAfter() time.Duration { return min(touchEvery, a.sessionIdle()/4) }

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSessionToken returns what the store keeps of a cookie value.
func hashSessionToken(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

func (a *Auth) sessionIdle() time.Duration {
	if a.SessionIdle > 0 {
		return a.SessionIdle
	}
	return DefaultSessionIdle
}

func (a *Auth) sessionMax() time.Duration {
	if a.SessionMax > 0 {
		return a.SessionMax
	}
	return DefaultSessionMax
}

// sessionEnd returns when se ends: idle timeout after it was last seen, or its
// absolute end, whichever comes first.
func (a *Auth) sessionEnd(se engine.Session) time.Time {
	end := se.LastSeenAt.Add(a.sessionIdle())
	if se.ExpiresAt.Before(end) {
		return se.ExpiresAt
	}
	return end
}

// beginSession signs u in: it stores a new session, sets the session cookie and
// returns the session's CSRF token. Password sign-in and single sign-on both end
// here. It fails with the store's error, or EForbidden for a disabled user.
func (s *Server) beginSession(c echo.Context, u engine.User) (csrfToken string, err error) {
	if u.Disabled {
		return "", engine.Errorf(engine.EForbidden, "user %q is disabled; ask an admin to enable it", u.Username)
	}
	now := time.Now().UTC()
	value := randomToken(32)
	se := engine.Session{
		ID: randomToken(16), TokenHash: hashSessionToken(value), Username: u.Username, CSRFToken: randomToken(32),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.Auth.sessionMax()),
		Address: c.RealIP(), UserAgent: truncate(c.Request().UserAgent(), 256),
	}
	if err := s.Store.CreateSession(c.Request().Context(), se); err != nil {
		return "", err
	}
	c.SetCookie(&http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secureRequest(c),
		// No Expires: the browser keeps the cookie while it runs; the server ends the
		// session at its timeouts whatever the browser keeps.
	})
	return se.CSRFToken, nil
}

// clearSessionCookie tells the browser to drop the session cookie.
func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secureRequest(c), MaxAge: -1})
}

// secureRequest reports whether the browser reached flowd over HTTPS: the request
// came over TLS, or through a trusted proxy (--trusted-proxies) that says
// X-Forwarded-Proto: https. A client's own X-Forwarded-Proto is never believed.
func (s *Server) secureRequest(c echo.Context) bool {
	r := c.Request()
	if r.TLS != nil {
		return true
	}
	if !strings.EqualFold(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0]), "https") {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	peer := ap.Addr().Unmap().WithZone("")
	for _, p := range s.TrustedProxies {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

// sessionAuth authenticates a request by its session cookie: it returns the user's
// principal, or EUnauthorized saying to sign in again. State-changing methods need
// the session's CSRF token in X-CSRF-Token and, when the browser sends Origin, an
// Origin of this host.
func (a *Auth) sessionAuth(c echo.Context, value string) (Principal, error) {
	ctx := c.Request().Context()
	se, err := a.Store.SessionByToken(ctx, hashSessionToken(value))
	if engine.ErrorCode(err) == engine.ENotFound {
		return Principal{}, engine.Errorf(engine.EUnauthorized, "your session has ended (signed out, revoked, or expired); sign in again")
	}
	if err != nil {
		return Principal{}, err
	}
	now := time.Now()
	if !now.Before(a.sessionEnd(se)) {
		// A session past its end is deleted at once: it can never come back.
		_ = a.Store.DeleteSession(ctx, se.Username, se.ID)
		return Principal{}, engine.Errorf(engine.EUnauthorized, "your session has expired; sign in again")
	}
	u, err := a.Store.GetUser(ctx, se.Username)
	if engine.ErrorCode(err) == engine.ENotFound {
		return Principal{}, engine.Errorf(engine.EUnauthorized, "your user was deleted; ask an admin, then sign in again")
	}
	if err != nil {
		return Principal{}, err
	}
	if u.Disabled {
		return Principal{}, engine.Errorf(engine.EUnauthorized, "your user is disabled; ask an admin to enable it, then sign in again")
	}
	if err := checkCSRF(c, se); err != nil {
		return Principal{}, err
	}
	if now.Sub(se.LastSeenAt) >= a.touchAfter() {
		if err := a.Store.TouchSession(ctx, se.ID, now); err != nil {
			return Principal{}, err
		}
	}
	c.Set(ctxSession, se)
	return Principal{Kind: PrincipalUser, Name: u.Username, Role: u.Role, Session: se.ID}, nil
}

const ctxSession = "flowd.session"

// checkCSRF refuses a state-changing request without the session's CSRF token, or
// with an Origin of another site. SameSite=Lax already keeps the cookie off most
// cross-site requests; the token is what a forged form or fetch cannot know.
func checkCSRF(c echo.Context, se engine.Session) error {
	r := c.Request()
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
		return engine.Errorf(engine.EForbidden, "cross-site request refused: Origin %q is not this server; use the web UI of this server, or an API client with a bearer token", truncate(origin, 200))
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(se.CSRFToken)) != 1 {
		return engine.Errorf(engine.EForbidden, "send the header %s with the csrf_token from POST /api/v1/auth/login or GET /api/v1/auth/me", CSRFHeader)
	}
	return nil
}

// sameOrigin reports whether origin ("https://host:port") names host (the request's
// Host header). The scheme is not compared: behind a TLS proxy the request is http.
func sameOrigin(origin, host string) bool {
	_, rest, ok := strings.Cut(origin, "://")
	if !ok {
		return false
	}
	return strings.EqualFold(rest, host)
}

// sessionOf returns the session that authenticated c, if a session did.
func sessionOf(c echo.Context) (engine.Session, bool) {
	se, ok := c.Get(ctxSession).(engine.Session)
	return se, ok
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// DeleteEndedSessions deletes the sessions past their idle or absolute timeout
// (each is refused anyway when used; this keeps the table small). It returns how
// many it deleted, or the store's error.
func (a *Auth) DeleteEndedSessions(ctx context.Context) (int64, error) {
	now := time.Now()
	return a.Store.DeleteEndedSessions(ctx, now, now.Add(-a.sessionIdle()))
}
