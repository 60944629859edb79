package api

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

const (
	// MinPasswordLength is the fewest characters a password may have.
	MinPasswordLength = 12
	// maxPasswordBytes bounds what is hashed, so that a huge password costs no more.
	maxPasswordBytes = 1024
)

// passwordParams are argon2id's costs (the OWASP recommendation of 19 MiB, two
// passes). They are stored in each hash, so that raising them later leaves the old
// hashes readable.
var passwordParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// hashSlots bounds the argon2id computations running at once, so that a burst of
// sign-ins queues instead of taking all memory and CPU.
var hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// HashPassword returns the argon2id PHC string of password with a random salt.
func HashPassword(password string) (string, error) {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2id.CreateHash(password, passwordParams)
}

// checkPassword reports whether password matches the PHC string hash; it compares
// in constant time. A malformed hash matches nothing.
func checkPassword(password, hash string) bool {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	return err == nil && ok
}

// dummyHash is checked for an unknown user, so that an unknown username costs as
// long as a wrong password and timing does not tell which usernames exist.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword(randomToken(16))
	if err != nil {
		panic(err) // only crypto/rand can fail, and it does not
	}
	return h
})

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)

// ValidUsername returns EInvalid unless name is 1 to 128 letters, digits and . _ @ + -
// starting with a letter or digit.
func ValidUsername(name string) error {
	if !usernamePattern.MatchString(name) {
		return invalid("username %q is not valid: use 1 to 128 letters, digits and . _ @ + -, starting with a letter or digit", truncate(name, 140))
	}
	return nil
}

// validPassword returns EInvalid for a password that is too short or too long.
func validPassword(p string) error {
	if n := utf8.RuneCountInString(p); n < MinPasswordLength {
		return invalid("the password has %d characters; use at least %d (a passphrase of a few words is easy to remember)", n, MinPasswordLength)
	}
	if len(p) > maxPasswordBytes {
		return invalid("the password is longer than %d bytes; use a shorter one", maxPasswordBytes)
	}
	return nil
}

type createUserRequest struct {
	Username string      `json:"username"`
	Password string      `json:"password"`
	Role     engine.Role `json:"role"`
	// Source is "password" (the default) or "oidc": a user who signs in only through
	// single sign-on, created ahead when auto-provisioning is off; it has no password.
	Source string `json:"source"`
}

func validRole(r engine.Role) error {
	if !r.Valid() {
		return invalid("role %q is not one of admin, editor, runner, viewer", r)
	}
	return nil
}

// createUser is POST /api/v1/users.
func (s *Server) createUser(c echo.Context) error {
	var req createUserRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := ValidUsername(req.Username); err != nil {
		return err
	}
	if err := validRole(req.Role); err != nil {
		return err
	}
	now := time.Now().UTC()
	u := engine.User{Username: req.Username, Role: req.Role, Source: engine.UserSourcePassword, CreatedAt: now, UpdatedAt: now}
	switch req.Source {
	case "", engine.UserSourcePassword:
		if err := validPassword(req.Password); err != nil {
			return err
		}
		hash, err := HashPassword(req.Password)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
	case engine.UserSourceOIDC:
		if req.Password != "" {
			return invalid(`a user with "source": "oidc" signs in through single sign-on and has no password here; leave "password" out`)
		}
		u.Source = engine.UserSourceOIDC
	default:
		return invalid(`"source" %q is not "password" or "oidc"`, req.Source)
	}
	if err := s.Store.CreateUser(c.Request().Context(), u); err != nil {
		return err
	}
	s.audit(c, "user.create", "user", u.Username, map[string]any{"role": u.Role})
	return c.JSON(http.StatusCreated, u)
}

func (s *Server) listUsers(c echo.Context) error {
	items, err := s.Store.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.User]{Items: items})
}

func (s *Server) getUser(c echo.Context) error {
	u, err := s.Store.GetUser(c.Request().Context(), c.Param("username"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

type patchUserRequest struct {
	Role     *engine.Role `json:"role"`
	Password *string      `json:"password"`
	Disabled *bool        `json:"disabled"`
}

// patchUser is PATCH /api/v1/users/{username}: a new role, a password reset, or
// disabling. A reset or disabling ends the user's sessions.
func (s *Server) patchUser(c echo.Context) error {
	var req patchUserRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := s.Store.GetUser(ctx, c.Param("username"))
	if err != nil {
		return err
	}
	endSessions := false
	wasAdmin := u.Role == engine.RoleAdmin && !u.Disabled
	if req.Role != nil {
		if err := validRole(*req.Role); err != nil {
			return err
		}
		u.Role = *req.Role
	}
	if req.Disabled != nil {
		endSessions = endSessions || (*req.Disabled && !u.Disabled)
		u.Disabled = *req.Disabled
	}
	if req.Password != nil {
		if u.Source != engine.UserSourcePassword {
			return engine.Errorf(engine.EConflict, "user %q signs in through single sign-on and has no password here; change it at the identity provider", u.Username)
		}
		if err := validPassword(*req.Password); err != nil {
			return err
		}
		if u.PasswordHash, err = HashPassword(*req.Password); err != nil {
			return err
		}
		endSessions = true
	}
	if wasAdmin && (u.Role != engine.RoleAdmin || u.Disabled) {
		if err := s.keepAnAdmin(c, u.Username, "demote or disable"); err != nil {
			return err
		}
	}
	u.UpdatedAt = time.Now().UTC()
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return err
	}
	if endSessions {
		if err := s.Store.DeleteSessions(ctx, u.Username); err != nil {
			return err
		}
	}
	detail := map[string]any{}
	if req.Role != nil {
		detail["role"] = u.Role
	}
	if req.Disabled != nil {
		detail["disabled"] = u.Disabled
	}
	if req.Password != nil {
		detail["password_reset"] = true
	}
	s.audit(c, "user.update", "user", u.Username, detail)
	return c.JSON(http.StatusOK, u)
}

// deleteUser is DELETE /api/v1/users/{username}; it ends the user's sessions.
func (s *Server) deleteUser(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := s.Store.GetUser(ctx, c.Param("username"))
	if err != nil {
		return err
	}
	if u.Role == engine.RoleAdmin && !u.Disabled {
		if err := s.keepAnAdmin(c, u.Username, "delete"); err != nil {
			return err
		}
	}
	if err := s.Store.DeleteUser(ctx, u.Username); err != nil {
		return err
	}
	s.audit(c, "user.delete", "user", u.Username, nil)
	return c.NoContent(http.StatusNoContent)
}

// keepAnAdmin returns EConflict when username is the last enabled admin user, so that
// the web UI always has someone who can manage it.
func (s *Server) keepAnAdmin(c echo.Context, username, what string) error {
	users, err := s.Store.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	for _, o := range users {
		if o.Username != username && o.Role == engine.RoleAdmin && !o.Disabled {
			return nil
		}
	}
	return engine.Errorf(engine.EConflict, "cannot %s %q: it is the last enabled admin user; make another user admin first", what, username)
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Username  string      `json:"username"`
	Role      engine.Role `json:"role"`
	CSRFToken string      `json:"csrf_token"`
	ExpiresAt time.Time   `json:"expires_at"`
}

// wrongCredentials is the one answer to an unknown user and a wrong password.
const wrongCredentials = "wrong username or password"

// login is POST /api/v1/auth/login: it checks the password and starts a session.
// Failures are limited per address and per username (across addresses).
func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return invalid("username and password are required")
	}
	// A page of another site must not sign a browser in to an account of its choice.
	if origin := c.Request().Header.Get("Origin"); origin != "" && !sameOrigin(origin, c.Request().Host) {
		return engine.Errorf(engine.EForbidden, "cross-site sign-in refused: Origin %q is not this server; sign in on this server's own page", truncate(origin, 200))
	}
	addr := failKey{addr: clientAddr(c)}
	account := failKey{account: sha256.Sum256([]byte(req.Username))}
	if wait := max(s.Auth.retryAfter(addr), s.Auth.retryAfter(account)); wait > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		return engine.Errorf(engine.ERateLimited, "too many failed sign-ins for this user or from this address; wait %d seconds and try again", int(wait.Seconds()+0.999))
	}
	ctx := c.Request().Context()
	u, err := s.Store.GetUser(ctx, req.Username)
	if err != nil && engine.ErrorCode(err) != engine.ENotFound {
		return err
	}
	hash := u.PasswordHash
	if err != nil || hash == "" || len(req.Password) > maxPasswordBytes {
		hash = dummyHash()
	}
	if !checkPassword(truncate(req.Password, maxPasswordBytes), hash) || hash != u.PasswordHash {
		s.Auth.fail(addr)
		s.Auth.fail(account)
		s.auditAs(c, "anonymous", "anonymous", "session.login_failed", "user", truncate(req.Username, 128), nil)
		return engine.Errorf(engine.EUnauthorized, wrongCredentials)
	}
	csrf, err := s.beginSession(c, u)
	if err != nil {
		return err
	}
	s.auditAs(c, "user:"+u.Username, string(PrincipalUser), "session.login", "user", u.Username, map[string]any{"method": "password"})
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, loginResponse{Username: u.Username, Role: u.Role, CSRFToken: csrf, ExpiresAt: time.Now().UTC().Add(min(s.Auth.sessionIdle(), s.Auth.sessionMax()))})
}

// logout is POST /api/v1/auth/logout: it deletes the session and clears the cookie.
func (s *Server) logout(c echo.Context) error {
	se, ok := sessionOf(c)
	if !ok {
		return engine.Errorf(engine.EInvalid, "this request was not signed in with a browser session; API clients have no session to end (their tokens expire by themselves)")
	}
	if err := s.Store.DeleteSession(c.Request().Context(), se.Username, se.ID); err != nil && engine.ErrorCode(err) != engine.ENotFound {
		return err
	}
	s.clearSessionCookie(c)
	s.audit(c, "session.logout", "user", se.Username, nil)
	return c.NoContent(http.StatusNoContent)
}

type meResponse struct {
	Kind      PrincipalKind `json:"kind"`
	Name      string        `json:"name"`
	Role      engine.Role   `json:"role"`
	CSRFToken string        `json:"csrf_token,omitempty"`
}

// me is GET /api/v1/auth/me: who the request acts for, and the CSRF token of its
// session (what the web UI needs after a reload or in a new tab).
func (s *Server) me(c echo.Context) error {
	p, _ := principalOf(c)
	out := meResponse{Kind: p.Kind, Name: p.Name, Role: p.Role}
	if se, ok := sessionOf(c); ok {
		out.CSRFToken = se.CSRFToken
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

type sessionItem struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Address    string    `json:"address"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// listSessions is GET /api/v1/auth/sessions: the caller's own sessions (none for an
// API client).
func (s *Server) listSessions(c echo.Context) error {
	p, _ := principalOf(c)
	if p.Kind != PrincipalUser {
		return c.JSON(http.StatusOK, listResponse[sessionItem]{Items: []sessionItem{}})
	}
	list, err := s.Store.ListSessions(c.Request().Context(), p.Name)
	if err != nil {
		return err
	}
	now := time.Now()
	items := make([]sessionItem, 0, len(list))
	for _, se := range list {
		end := s.Auth.sessionEnd(se)
		if !now.Before(end) {
			continue
		}
		items = append(items, sessionItem{ID: se.ID, CreatedAt: se.CreatedAt, LastSeenAt: se.LastSeenAt, ExpiresAt: end.UTC(),
			Address: se.Address, UserAgent: se.UserAgent, Current: se.ID == p.Session})
	}
	return c.JSON(http.StatusOK, listResponse[sessionItem]{Items: items})
}

// deleteSession is DELETE /api/v1/auth/sessions/{id}: revokes one of the caller's
// sessions (404 for anyone else's).
func (s *Server) deleteSession(c echo.Context) error {
	p, _ := principalOf(c)
	if p.Kind != PrincipalUser {
		return engine.Errorf(engine.ENotFound, "API clients have no browser sessions; sign in as a user to manage yours")
	}
	if err := s.Store.DeleteSession(c.Request().Context(), p.Name, c.Param("id")); err != nil {
		return err
	}
	if c.Param("id") == p.Session {
		s.clearSessionCookie(c)
	}
	s.audit(c, "session.revoke", "user", p.Name, nil)
	return c.NoContent(http.StatusNoContent)
}

type authMethodsResponse struct {
	Password bool        `json:"password"`
	OIDC     *OIDCMethod `json:"oidc"`
}

// authMethods is GET /api/v1/auth/methods (public): how the sign-in page may sign in.
func (s *Server) authMethods(c echo.Context) error {
	return c.JSON(http.StatusOK, authMethodsResponse{Password: true, OIDC: s.OIDC.Method()})
}

// BootstrapUser makes sure an admin user exists. With username and password given
// (FLOWD_ADMIN_USER, FLOWD_ADMIN_PASSWORD) it creates that admin user, or makes an
// existing one an enabled admin with that password. Otherwise, when no user exists,
// it creates one (username, or "admin") with a random password and returns both to
// print once. It fails on a password that is too short, or the store's error.
func BootstrapUser(ctx context.Context, st engine.Store, username, password string) (createdUser, createdPassword string, err error) {
	if username == "" {
		username = "admin"
	}
	if err := ValidUsername(username); err != nil {
		return "", "", fmt.Errorf("FLOWD_ADMIN_USER: %s", engine.ErrorMessage(err))
	}
	now := time.Now().UTC()
	if password != "" {
		if err := validPassword(password); err != nil {
			return "", "", fmt.Errorf("FLOWD_ADMIN_PASSWORD: %s", engine.ErrorMessage(err))
		}
		cur, err := st.GetUser(ctx, username)
		switch {
		case err == nil:
			// Every start of every API process runs this: a user that already is an
			// enabled admin with this password is kept, with its sessions.
			if cur.Role == engine.RoleAdmin && !cur.Disabled && checkPassword(password, cur.PasswordHash) {
				return "", "", nil
			}
			if cur.PasswordHash, err = HashPassword(password); err != nil {
				return "", "", err
			}
			cur.Role, cur.Disabled, cur.Source, cur.UpdatedAt = engine.RoleAdmin, false, engine.UserSourcePassword, now
			if err := st.UpdateUser(ctx, cur); err != nil {
				return "", "", err
			}
			return "", "", st.DeleteSessions(ctx, username)
		case engine.ErrorCode(err) != engine.ENotFound:
			return "", "", err
		}
		hash, err := HashPassword(password)
		if err != nil {
			return "", "", err
		}
		err = st.CreateUser(ctx, engine.User{Username: username, Role: engine.RoleAdmin, PasswordHash: hash, Source: engine.UserSourcePassword, CreatedAt: now, UpdatedAt: now})
		if engine.ErrorCode(err) == engine.EConflict {
			return "", "", nil // another process created it at the same moment
		}
		return "", "", err
	}
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", "", err
	}
	password = randomToken(18)
	hash, err := HashPassword(password)
	if err != nil {
		return "", "", err
	}
	err = st.CreateUser(ctx, engine.User{Username: username, Role: engine.RoleAdmin, PasswordHash: hash, Source: engine.UserSourcePassword, CreatedAt: now, UpdatedAt: now})
	if engine.ErrorCode(err) == engine.EConflict {
		return "", "", nil // another API process starting at the same moment made it
	}
	if err != nil {
		return "", "", err
	}
	return username, password, nil
}
