package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

const (
	tokenIssuer   = "flowd"
	tokenAudience = "flowd-api"
	tokenTTL      = time.Hour
	ctxClient     = "flowd.client"
)

// claims are the JWT claims flowd issues: the registered ones plus the client's role.
type claims struct {
	Role engine.Role `json:"role"`
	jwt.RegisteredClaims
}

// Auth issues and verifies access tokens for API clients.
type Auth struct {
	Store engine.Store
	Key   []byte // HMAC key for HS256, shared by all API processes through the store

	failMu   sync.Mutex
	failures map[string][]time.Time
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

// SigningKey returns the JWT signing key stored in the database, creating it on the
// first start.
func SigningKey(ctx context.Context, st engine.Store) ([]byte, error) {
	v, err := st.ServerKey(ctx, "jwt_hs256", func() (string, error) { return NewSecret(), nil })
	if err != nil {
		return nil, err
	}
	return base64.RawURLEncoding.DecodeString(v)
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
	if a.limited(c.RealIP()) {
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
		a.fail(c.RealIP())
		return engine.Errorf(engine.EUnauthorized, "invalid client_id or client_secret")
	}
	tok, err := a.Issue(cl)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(tokenTTL.Seconds())})
}

// Issue returns a signed access token for the client.
func (a *Auth) Issue(cl engine.Client) (string, error) {
	now := time.Now()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		Role: cl.Role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Audience: jwt.ClaimStrings{tokenAudience}, Subject: cl.ID,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(tokenTTL)),
			ID: hex.EncodeToString(jti),
		},
	})
	return t.SignedString(a.Key)
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
		scheme, raw, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
			return engine.Errorf(engine.EUnauthorized, "send Authorization: Bearer <token>; get a token from POST /api/v1/auth/token")
		}
		var cl claims
		if _, err := parser.ParseWithClaims(strings.TrimSpace(raw), &cl, func(*jwt.Token) (any, error) { return a.Key, nil }); err != nil {
			return engine.Errorf(engine.EUnauthorized, "the access token is invalid or expired; get a new one from POST /api/v1/auth/token")
		}
		client, err := a.Store.GetClient(c.Request().Context(), cl.Subject)
		if err != nil {
			if engine.ErrorCode(err) == engine.ENotFound {
				return engine.Errorf(engine.EUnauthorized, "the API client of this token was deleted")
			}
			return err
		}
		c.Set(ctxClient, client)
		return next(c)
	}
}

// require returns middleware that lets through clients whose role allows need.
func require(need engine.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cl, ok := c.Get(ctxClient).(engine.Client)
			if !ok || !cl.Role.Allows(need) {
				return engine.Errorf(engine.EForbidden, "this needs the %s role; your client has %q", need, cl.Role)
			}
			return next(c)
		}
	}
}

// Failed sign-ins are limited per address: maxFailures in failWindow.
const (
	maxFailures = 10
	failWindow  = time.Minute
)

func (a *Auth) limited(ip string) bool {
	a.failMu.Lock()
	defer a.failMu.Unlock()
	return len(a.recent(ip)) >= maxFailures
}

func (a *Auth) fail(ip string) {
	a.failMu.Lock()
	defer a.failMu.Unlock()
	if a.failures == nil {
		a.failures = map[string][]time.Time{}
	}
	a.failures[ip] = append(a.recent(ip), time.Now())
}

func (a *Auth) recent(ip string) []time.Time {
	cut := time.Now().Add(-failWindow)
	list := a.failures[ip]
	i := 0
	for i < len(list) && list[i].Before(cut) {
		i++
	}
	if i == len(list) {
		delete(a.failures, ip)
		return nil
	}
	return list[i:]
}

// Bootstrap makes sure an admin client exists. With id and secret given (from
// FLOWD_ADMIN_CLIENT_ID/_SECRET) it creates or resets that client; otherwise, when no
// client exists, it creates one and returns its secret to print once.
func Bootstrap(ctx context.Context, st engine.Store, id, secret string) (createdID, createdSecret string, err error) {
	if id != "" && secret != "" {
		if _, err := st.GetClient(ctx, id); err == nil {
			if err := st.DeleteClient(ctx, id); err != nil {
				return "", "", err
			}
		}
		return "", "", st.CreateClient(ctx, engine.Client{ID: id, Name: "bootstrap admin", SecretHash: HashSecret(secret), Role: engine.RoleAdmin, CreatedAt: time.Now()})
	}
	n, err := st.CountClients(ctx)
	if err != nil || n > 0 {
		return "", "", err
	}
	createdID, createdSecret = "admin", NewSecret()
	err = st.CreateClient(ctx, engine.Client{ID: createdID, Name: "bootstrap admin", SecretHash: HashSecret(createdSecret), Role: engine.RoleAdmin, CreatedAt: time.Now()})
	return createdID, createdSecret, err
}
