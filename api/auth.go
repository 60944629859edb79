package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

const (
	tokenIssuer   = "flowd"
	tokenAudience = "flowd-api"
	tokenTTL      = time.Hour
	ctxPrincipal  = "flowd.principal"
)

// claims are the JWT claims flowd issues: the registered ones plus the client's role
// and generation (engine.Client.Generation), which ties a token to one creation of
// its client id.
type claims struct {
	Role       engine.Role `json:"role"`
	Generation string      `json:"gen,omitempty"`
	jwt.RegisteredClaims
}

// Auth issues and verifies access tokens for API clients.
type Auth struct {
	Store engine.Store
	Key   *SigningKey // HS256, shared by all API processes through the store

	// failures limits failed sign-ins per address (ratelimit.go); hookFailures
	// limits webhook calls with a wrong key, in an LRU of its own, so that calls to
	// many made-up webhook names cannot push an address's failed sign-ins out.
	failures, hookFailures failureLimiter
	// accountFailures limits failed password sign-ins per username, whatever the
	// address, so that an attacker with many addresses still cannot guess fast.
	accountFailures failureLimiter

	// SessionIdle ends a browser session not used for this long, SessionMax any
	// session this long after sign-in (0: DefaultSessionIdle, DefaultSessionMax).
	SessionIdle, SessionMax time.Duration
}

// HashSecret returns the stored form of a client secret. Secrets are 256-bit random
// values, so a plain SHA-256 is as strong as a slow hash here.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewSecret returns a random client secret.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

type tokenRequest struct {
	GrantType    string `json:"grant_type" form:"grant_type"`
	ClientID     string `json:"client_id" form:"client_id"`
	ClientSecret string `json:"client_secret" form:"client_secret"`
	Scope        string `json:"scope" form:"scope"`
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// token is POST /api/v1/auth/token: the OAuth2 client-credentials grant.
func (a *Auth) token(c echo.Context) error {
	var req tokenRequest
	if err := c.Bind(&req); err != nil {
		return invalid("the body must be JSON or a form with grant_type=client_credentials, client_id and client_secret")
	}
	if id, secret, ok := c.Request().BasicAuth(); ok && req.ClientID == "" {
		req.ClientID, req.ClientSecret = id, secret
	}
	if req.GrantType != "" && req.GrantType != "client_credentials" {
		return invalid("grant_type %q is not supported; use client_credentials", req.GrantType)
	}
	if req.ClientID == "" || req.ClientSecret == "" {
		return invalid("client_id and client_secret are required")
	}
	if a.limited(failKey{addr: clientAddr(c)}) {
		return engine.Errorf(engine.ERateLimited, "too many failed sign-ins from this address; wait a minute and try again")
	}
	cl, err := a.Store.GetClient(c.Request().Context(), req.ClientID)
	if err != nil && engine.ErrorCode(err) != engine.ENotFound {
		return err
	}
	// Compare even for an unknown client, so that timing does not tell which ids exist.
	want := cl.SecretHash
	if want == "" {
		want = HashSecret("unknown client")
	}
	if subtle.ConstantTimeCompare([]byte(HashSecret(req.ClientSecret)), []byte(want)) != 1 || err != nil {
		a.fail(failKey{addr: clientAddr(c)})
		return engine.Errorf(engine.EUnauthorized, "invalid client_id or client_secret")
	}
	tok, err := a.Issue(c.Request().Context(), cl)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(tokenTTL.Seconds())})
}

// Issue returns a signed access token for the client, or the error of reading the
// signing key.
func (a *Auth) Issue(ctx context.Context, cl engine.Client) (string, error) {
	key, err := a.Key.current(ctx)
	if err != nil {
		return "", err
	}
	now := time.Now()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		Role: cl.Role, Generation: cl.Generation,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Audience: jwt.ClaimStrings{tokenAudience}, Subject: cl.ID,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(tokenTTL)),
			ID: hex.EncodeToString(jti),
		},
	})
	return t.SignedString(key)
}

// authenticate checks the bearer token and stores the client in the context.
func (a *Auth) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithAudience(tokenAudience),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second),
	)
	return func(c echo.Context) error {
		h := c.Request().Header.Get("Authorization")
		if h == "" {
			// A browser: its session cookie. A request with a bearer token never
			// reads cookies, so that a token's caller needs no CSRF token.
			if ck, err := c.Cookie(SessionCookie); err == nil && ck.Value != "" {
				p, err := a.sessionAuth(c, ck.Value)
				if err != nil {
					return err
				}
				c.Set(ctxPrincipal, p)
				return next(c)
			}
		}
		scheme, raw, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
			return engine.Errorf(engine.EUnauthorized, "sign in (POST /api/v1/auth/login), or send Authorization: Bearer <token> with a token from POST /api/v1/auth/token")
		}
		var (
			cl     claims
			keyErr error
		)
		// The key is read from the store (so that a rotation counts at once) only for
		// a token that parses: garbage costs no database read.
		keyFunc := func(*jwt.Token) (any, error) {
			key, err := a.Key.current(c.Request().Context())
			keyErr = err
			return key, err
		}
		if _, err := parser.ParseWithClaims(strings.TrimSpace(raw), &cl, keyFunc); err != nil {
			if keyErr != nil {
				return keyErr
			}
			return engine.Errorf(engine.EUnauthorized, "the access token is invalid or expired, or the signing key was rotated; get a new one from POST /api/v1/auth/token")
		}
		client, err := a.Store.GetClient(c.Request().Context(), cl.Subject)
		if err != nil {
			if engine.ErrorCode(err) == engine.ENotFound {
				return engine.Errorf(engine.EUnauthorized, "the API client of this token was deleted")
			}
			return err
		}
		// A client deleted and created again under the same id is another client:
		// its predecessor's tokens name another generation.
		if cl.Generation != client.Generation {
			return engine.Errorf(engine.EUnauthorized, "the API client of this token was deleted (a client with the same id was created since); get a new token from POST /api/v1/auth/token")
		}
		c.Set(ctxPrincipal, Principal{Kind: PrincipalClient, Name: client.ID, Role: client.Role})
		return next(c)
	}
}

// PrincipalKind says what signed a request in: an API client (bearer token) or a
// user (browser session).
type PrincipalKind string

const (
	PrincipalClient PrincipalKind = "client"
	PrincipalUser   PrincipalKind = "user"
)

// Principal is who a request acts for: set by authenticate, read by require, the
// audit log and started_by.
type Principal struct {
	Kind PrincipalKind
	Name string // the client id or the username
	Role engine.Role
	// Session is the id of the browser session of a user (empty for a client).
	Session string
}

// String is how the principal is named in records: "client:<id>" or "user:<name>".
func (p Principal) String() string { return string(p.Kind) + ":" + p.Name }

// principalOf returns the principal that authenticate stored in c.
func principalOf(c echo.Context) (Principal, bool) {
	p, ok := c.Get(ctxPrincipal).(Principal)
	return p, ok
}

// require returns middleware that lets through principals whose role allows need.
func require(need engine.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := principalOf(c)
			if !ok || !p.Role.Allows(need) {
				return engine.Errorf(engine.EForbidden, "this needs the %s role; your %s has %q", need, p.Kind, p.Role)
			}
			return next(c)
		}
	}
}

// Bootstrap makes sure an admin client exists. With id and secret given (from
// FLOWD_ADMIN_CLIENT_ID/_SECRET) it creates or resets that client; otherwise, when no
// client exists, it creates one and returns its secret to print once.
func Bootstrap(ctx context.Context, st engine.Store, id, secret string) (createdID, createdSecret string, err error) {
	if id != "" && secret != "" {
		// Every start of every API process runs this: a client that already has this
		// secret and role is kept, so that its tokens survive restarts. One with
		// another secret or role is created anew, which ends its tokens.
		for range 3 {
			cur, err := st.GetClient(ctx, id)
			switch {
			case err == nil && cur.Role == engine.RoleAdmin && subtle.ConstantTimeCompare([]byte(cur.SecretHash), []byte(HashSecret(secret))) == 1:
				return "", "", nil
			case err == nil:
				if err := st.DeleteClient(ctx, id); err != nil && engine.ErrorCode(err) != engine.ENotFound {
					return "", "", err
				}
			case engine.ErrorCode(err) != engine.ENotFound:
				return "", "", err
			}
			err = st.CreateClient(ctx, engine.Client{ID: id, Name: "bootstrap admin", SecretHash: HashSecret(secret), Role: engine.RoleAdmin, CreatedAt: time.Now()})
			if engine.ErrorCode(err) != engine.EConflict {
				return "", "", err
			}
			// Another process created it at the same moment: look again.
		}
		return "", "", fmt.Errorf("API client %q kept changing while flowd started; start flowd again", id)
	}
	n, err := st.CountClients(ctx)
	if err != nil || n > 0 {
		return "", "", err
	}
	createdID, createdSecret = "admin", NewSecret()
	err = st.CreateClient(ctx, engine.Client{ID: createdID, Name: "bootstrap admin", SecretHash: HashSecret(createdSecret), Role: engine.RoleAdmin, CreatedAt: time.Now()})
	return createdID, createdSecret, err
}
