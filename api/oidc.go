package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/secrets"
)

const (
	// oidcFlowCookie carries one sign-in through the provider: state, nonce, PKCE
	// verifier and where to go afterwards, sealed with the secrets key so that the
	// browser can neither read nor forge it.
	oidcFlowCookie = "flowd_oidc"
	// oidcFlowSealName is what the cookie is sealed under; secret names cannot hold
	// ':', so no sealed secret value opens as a flow, nor a flow as a secret.
	oidcFlowSealName = "oidc:flow"
	oidcFlowPath     = "/api/v1/auth/oidc"
	// oidcFlowTTL is how long a user has at the provider to sign in.
	oidcFlowTTL = 10 * time.Minute
	// oidcTimeout bounds each call to the provider (discovery, token, keys).
	oidcTimeout = 15 * time.Second

	// OIDCLoginPath starts a sign-in; OIDCCallbackPath is the redirect URI to
	// register at the provider, under the public URL.
	OIDCLoginPath    = "/api/v1/auth/oidc/login"
	OIDCCallbackPath = "/api/v1/auth/oidc/callback"
)

// OIDCConfig is single sign-on with an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// <Issuer>/.well-known/openid-configuration.
	Issuer       string
	ClientID     string
	ClientSecret string
	// Name is shown on the sign-in button ("Sign in with <Name>"); empty: "SSO".
	Name string
	// RedirectURL is <public URL>/api/v1/auth/oidc/callback.
	RedirectURL string
	// RoleClaim names the ID token claim that RoleMap maps to roles, a list of
	// strings or a string; dots reach into objects (realm_access.roles). Empty: groups.
	RoleClaim string
	// RoleMap maps values of the role claim to roles; a user with several gets the
	// most privileged. When it is not empty, the provider decides the role at every
	// sign-in (DefaultRole for no match); when it is, roles are managed in flowd and
	// DefaultRole is the role of new users.
	RoleMap map[string]engine.Role
	// DefaultRole is the role of a user whose claim maps to no role; empty refuses
	// such users.
	DefaultRole engine.Role
	// AutoProvision creates a user (source "oidc") at its first sign-in; off, only
	// users an admin created with source "oidc" can sign in.
	AutoProvision bool
	// HTTPClient calls the provider; nil: one with a 15 s timeout.
	HTTPClient *http.Client
}

// OIDC signs users in through an OpenID Connect provider: authorization code flow
// with PKCE (S256), state and nonce, the ID token verified by go-oidc.
type OIDC struct {
	cfg  OIDCConfig
	keys *secrets.Keyring

	discovering sync.Mutex
	provider    *oidc.Provider // discovered at the first sign-in, kept once it worked

	mu sync.Mutex
	// used holds the states of flows that reached the callback until they expire,
	// so that a callback cannot be replayed in this process (the provider's codes
	// are single-use too).
	used map[string]time.Time
}

// NewOIDC checks cfg and returns the OIDC sign-in; keys seal the flow cookie. The
// provider is discovered at the first sign-in, so that flowd starts while it is
// down. It returns an error naming the setting to fix.
func NewOIDC(cfg OIDCConfig, keys *secrets.Keyring) (*OIDC, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("the OIDC issuer %q must be an absolute https URL, like https://login.example.com/realms/main (FLOWD_OIDC_ISSUER)", cfg.Issuer)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("the OIDC client id is missing: set FLOWD_OIDC_CLIENT_ID to the client registered at the provider")
	}
	if r, err := url.Parse(cfg.RedirectURL); err != nil || r.Host == "" {
		return nil, fmt.Errorf("the OIDC redirect URL %q is not absolute; set --public-url (FLOWD_PUBLIC_URL)", cfg.RedirectURL)
	}
	for group, role := range cfg.RoleMap {
		if !role.Valid() {
			return nil, fmt.Errorf("the OIDC role map sends %q to %q, which is no role; use admin, editor, runner or viewer (FLOWD_OIDC_ROLE_MAP=group=role,...)", group, role)
		}
	}
	if cfg.DefaultRole != "" && !cfg.DefaultRole.Valid() {
		return nil, fmt.Errorf("the OIDC default role %q is no role; use admin, editor, runner, viewer or nothing (FLOWD_OIDC_DEFAULT_ROLE)", cfg.DefaultRole)
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "groups"
	}
	if cfg.Name == "" {
		cfg.Name = "SSO"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: oidcTimeout}
	}
	return &OIDC{cfg: cfg, keys: keys, used: map[string]time.Time{}}, nil
}

// ParseRoleMap reads "group=role,group=role" (FLOWD_OIDC_ROLE_MAP), or returns an
// error naming the entry to fix.
func ParseRoleMap(s string) (map[string]engine.Role, error) {
	m := map[string]engine.Role{}
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		group, role, ok := strings.Cut(entry, "=")
		group, role = strings.TrimSpace(group), strings.TrimSpace(role)
		if !ok || group == "" || !engine.Role(role).Valid() {
			return nil, fmt.Errorf("%q: write group=role, the role one of admin, editor, runner, viewer", entry)
		}
		m[group] = engine.Role(role)
	}
	return m, nil
}

// OIDCMethod is the "oidc" member of GET /api/v1/auth/methods.
type OIDCMethod struct {
	Name     string `json:"name"`
	LoginURL string `json:"login_url"`
}

// Method describes the sign-in for GET /api/v1/auth/methods; nil when o is nil
// (single sign-on is not configured).
func (o *OIDC) Method() *OIDCMethod {
	if o == nil {
		return nil
	}
	return &OIDCMethod{Name: o.cfg.Name, LoginURL: OIDCLoginPath}
}

// oidcFlow is what the flow cookie holds between the login and the callback.
type oidcFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	Expires  int64  `json:"e"` // Unix seconds
}

func (o *OIDC) sealFlow(f oidcFlow) (string, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	return o.keys.Seal(oidcFlowSealName, string(b))
}

// openFlow returns the flow sealed in value, or an error for one that was altered,
// sealed with another key, or expired at now.
func (o *OIDC) openFlow(value string, now time.Time) (oidcFlow, error) {
	var f oidcFlow
	plain, err := o.keys.Open(oidcFlowSealName, value)
	if err != nil {
		return f, errors.New("the sign-in cookie is not one this server made")
	}
	if err := json.Unmarshal([]byte(plain), &f); err != nil || f.State == "" {
		return oidcFlow{}, errors.New("the sign-in cookie is not one this server made")
	}
	if now.Unix() > f.Expires {
		return oidcFlow{}, fmt.Errorf("the sign-in took longer than %s", oidcFlowTTL)
	}
	return f, nil
}

// consume records that the flow with state reached the callback, and reports
// false when it had already.
func (o *OIDC) consume(state string, expires time.Time, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for s, exp := range o.used {
		if now.After(exp) {
			delete(o.used, s)
		}
	}
	if _, seen := o.used[state]; seen {
		return false
	}
	o.used[state] = expires
	return true
}

// discover returns the provider, fetching its discovery document the first time
// (and again after a failure).
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.discovering.Lock()
	defer o.discovering.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	// The provider keeps this context to fetch its signing keys later, so it must not
	// end with this request; the client's timeout bounds each call.
	p, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), o.cfg.HTTPClient), o.cfg.Issuer)
	if err != nil {
		return nil, engine.Errorf(engine.EUnavailable, "the sign-in provider at %s cannot be reached or answers no OpenID Connect discovery (%v); check FLOWD_OIDC_ISSUER, or sign in with a password", o.cfg.Issuer, err)
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) oauth2Config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
	}
}

// oidcLogin is GET /api/v1/auth/oidc/login?return_to=/path: it sends the browser to
// the provider.
func (s *Server) oidcLogin(c echo.Context) error {
	o := s.OIDC
	if o == nil {
		return engine.Errorf(engine.ENotFound, "single sign-on is not configured on this server; sign in with a username and password, or ask the operator to set FLOWD_OIDC_ISSUER (see docs/sso.md)")
	}
	p, err := o.discover(c.Request().Context())
	if err != nil {
		return refusalPage(c, &oidcRefusal{status: http.StatusServiceUnavailable, message: engine.ErrorMessage(err) + "."})
	}
	now := time.Now()
	f := oidcFlow{
		State: randomToken(32), Nonce: randomToken(32), Verifier: oauth2.GenerateVerifier(),
		ReturnTo: safeReturnTo(c.QueryParam("return_to")), Expires: now.Add(oidcFlowTTL).Unix(),
	}
	sealed, err := o.sealFlow(f)
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: oidcFlowCookie, Value: sealed, Path: oidcFlowPath, MaxAge: int(oidcFlowTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureRequest(c)})
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, o.oauth2Config(p).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)))
}

// oidcRefusal is a sign-in that cannot go on: shown to the person as a page, since
// the browser is on its way back from the provider.
type oidcRefusal struct {
	status  int
	message string
	user    string // the username the provider named, when it got that far
}

func (r *oidcRefusal) Error() string { return r.message }

func refuse(status int, format string, args ...any) error {
	return &oidcRefusal{status: status, message: fmt.Sprintf(format, args...)}
}

// oidcCallback is GET /api/v1/auth/oidc/callback, where the provider sends the
// browser back: it checks the flow, exchanges the code, verifies the ID token,
// finds or creates the user and starts a session.
func (s *Server) oidcCallback(c echo.Context) error {
	o := s.OIDC
	if o == nil {
		return engine.Errorf(engine.ENotFound, "single sign-on is not configured on this server; sign in with a username and password")
	}
	// The flow is for one try, whatever its outcome.
	c.SetCookie(&http.Cookie{Name: oidcFlowCookie, Value: "", Path: oidcFlowPath, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureRequest(c)})
	c.Response().Header().Set("Cache-Control", "no-store")
	u, returnTo, err := s.oidcSignIn(c)
	if err != nil {
		var r *oidcRefusal
		if !errors.As(err, &r) {
			return err
		}
		s.Log.Info("single sign-on refused", "reason", r.message, "user", r.user, "address", c.RealIP())
		s.auditAs(c, "anonymous", "anonymous", "session.login_failed", "user", r.user, map[string]any{"method": "oidc", "reason": r.message})
		return refusalPage(c, r)
	}
	if _, err := s.beginSession(c, u); err != nil {
		if engine.ErrorCode(err) == engine.EForbidden {
			return refusalPage(c, &oidcRefusal{status: http.StatusForbidden, message: engine.ErrorMessage(err)})
		}
		return err
	}
	s.auditAs(c, "user:"+u.Username, string(PrincipalUser), "session.login", "user", u.Username, map[string]any{"method": "oidc", "role": u.Role})
	s.Log.Info("signed in through single sign-on", "user", u.Username, "role", u.Role, "address", c.RealIP())
	return c.Redirect(http.StatusFound, returnTo)
}

// oidcSignIn does the callback's checks and returns the user to sign in and where
// to send them, or an *oidcRefusal.
func (s *Server) oidcSignIn(c echo.Context) (engine.User, string, error) {
	o := s.OIDC
	ctx := c.Request().Context()
	q := c.QueryParams()
	cookie, err := c.Cookie(oidcFlowCookie)
	if err != nil {
		return engine.User{}, "", refuse(http.StatusBadRequest, "This sign-in was not started in this browser, or took longer than %s. Start it again from the sign-in page.", oidcFlowTTL)
	}
	now := time.Now()
	f, err := o.openFlow(cookie.Value, now)
	if err != nil {
		return engine.User{}, "", refuse(http.StatusBadRequest, "%s. Start the sign-in again from the sign-in page.", err)
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		return engine.User{}, "", refuse(http.StatusBadRequest, "The sign-in answer does not belong to the sign-in this browser started (state mismatch). Start it again from the sign-in page.")
	}
	if !o.consume(f.State, time.Unix(f.Expires, 0), now) {
		return engine.User{}, "", refuse(http.StatusBadRequest, "This sign-in answer was already used. Start the sign-in again from the sign-in page.")
	}
	// Only now, for the sign-in this browser started: a link of anyone's making to
	// the callback cannot put its text on flowd's page.
	if e := q.Get("error"); e != "" {
		return engine.User{}, "", refuse(http.StatusForbidden, "The sign-in provider did not sign you in: %s %s", truncate(e, 100), truncate(q.Get("error_description"), 300))
	}
	code := q.Get("code")
	if code == "" {
		return engine.User{}, "", refuse(http.StatusBadRequest, "The sign-in provider sent no authorization code. Start the sign-in again.")
	}
	p, err := o.discover(ctx)
	if err != nil {
		return engine.User{}, "", refuse(http.StatusServiceUnavailable, "%s.", engine.ErrorMessage(err))
	}
	pctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, o.cfg.HTTPClient), oidcTimeout)
	defer cancel()
	tok, err := o.oauth2Config(p).Exchange(pctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		s.Log.Warn("the OIDC provider refused the authorization code", "error", err)
		return engine.User{}, "", refuse(http.StatusBadGateway, "The sign-in provider refused to complete the sign-in (%s). Start it again; if this persists, the operator should check FLOWD_OIDC_CLIENT_ID and FLOWD_OIDC_CLIENT_SECRET.", truncate(err.Error(), 300))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return engine.User{}, "", refuse(http.StatusBadGateway, "The sign-in provider answered without an ID token; is it an OpenID Connect provider, and does the client allow the openid scope?")
	}
	idt, err := p.VerifierContext(pctx, &oidc.Config{ClientID: o.cfg.ClientID}).Verify(pctx, raw)
	if err != nil {
		return engine.User{}, "", refuse(http.StatusForbidden, "The ID token from the sign-in provider is not valid: %s.", truncate(err.Error(), 300))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return engine.User{}, "", refuse(http.StatusForbidden, "The ID token from the sign-in provider was not issued for this sign-in (nonce mismatch). Start it again.")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return engine.User{}, "", refuse(http.StatusBadGateway, "The ID token's claims cannot be read: %v.", err)
	}
	u, change, err := o.user(ctx, s.Store, claims)
	if err != nil {
		return engine.User{}, "", err
	}
	switch change {
	case "user.create":
		s.auditAs(c, "user:"+u.Username, string(PrincipalUser), change, "user", u.Username, map[string]any{"role": u.Role, "source": u.Source, "by": "oidc"})
	case "user.update":
		s.auditAs(c, "user:"+u.Username, string(PrincipalUser), change, "user", u.Username, map[string]any{"role": u.Role, "by": "oidc"})
	}
	return u, f.ReturnTo, nil
}

// user finds or creates the user that claims name and sets its role, or returns an
// *oidcRefusal that says why that person cannot sign in. change is the audit action
// of what it stored: "user.create", "user.update" (the role) or "".
func (o *OIDC) user(ctx context.Context, st engine.UserStore, claims map[string]any) (u engine.User, change string, err error) {
	u, change, err = o.findUser(ctx, st, claims)
	var r *oidcRefusal
	if errors.As(err, &r) {
		r.user = usernameOf(claims)
	}
	return u, change, err
}

func (o *OIDC) findUser(ctx context.Context, st engine.UserStore, claims map[string]any) (engine.User, string, error) {
	name := usernameOf(claims)
	if name == "" {
		return engine.User{}, "", refuse(http.StatusForbidden, "The ID token names no user (none of preferred_username, email, sub).")
	}
	if err := ValidUsername(name); err != nil {
		return engine.User{}, "", refuse(http.StatusForbidden, "The sign-in provider names you %q, which flowd cannot take as a username (%s).", truncate(name, 140), engine.ErrorMessage(err))
	}
	role := o.roleOf(claims)
	u, err := st.GetUser(ctx, name)
	switch {
	case engine.ErrorCode(err) == engine.ENotFound:
		if !o.cfg.AutoProvision {
			return engine.User{}, "", refuse(http.StatusForbidden, "There is no user %q on this flowd. Ask an admin to create it with source oidc.", name)
		}
		if role == "" {
			return engine.User{}, "", refuse(http.StatusForbidden, "Your groups at the sign-in provider (claim %q) give you no role on this flowd. Ask an admin to add you to a group in FLOWD_OIDC_ROLE_MAP.", o.cfg.RoleClaim)
		}
		now := time.Now().UTC()
		u = engine.User{Username: name, Role: role, Source: engine.UserSourceOIDC, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			if engine.ErrorCode(err) != engine.EConflict {
				return engine.User{}, "", err
			}
			// Created by a sign-in of the same person a moment ago: take that one.
			return o.findUser(ctx, st, claims)
		}
		return u, "user.create", nil
	case err != nil:
		return engine.User{}, "", err
	}
	if u.Source != engine.UserSourceOIDC {
		// Else whoever the provider calls "admin" would sign in as flowd's admin.
		return engine.User{}, "", refuse(http.StatusForbidden, "The user %q signs in with a password on this flowd, not through %s. Sign in with your password, or ask an admin.", name, o.cfg.Name)
	}
	if u.Disabled {
		return engine.User{}, "", refuse(http.StatusForbidden, "The user %q is disabled on this flowd. Ask an admin to enable it.", name)
	}
	if len(o.cfg.RoleMap) == 0 {
		return u, "", nil // roles are managed in flowd; the default role is for new users
	}
	if role == "" {
		return engine.User{}, "", refuse(http.StatusForbidden, "Your groups at the sign-in provider (claim %q) give you no role on this flowd. Ask an admin to add you to a group in FLOWD_OIDC_ROLE_MAP.", o.cfg.RoleClaim)
	}
	if u.Role == role {
		return u, "", nil
	}
	u.Role, u.UpdatedAt = role, time.Now().UTC()
	if err := st.UpdateUser(ctx, u); err != nil {
		return engine.User{}, "", err
	}
	return u, "user.update", nil
}

// usernameOf names the user of an ID token: preferred_username, else email, else
// the subject.
func usernameOf(claims map[string]any) string {
	for _, k := range []string{"preferred_username", "email", "sub"} {
		if s, ok := claims[k].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// roleOf maps the role claim to the most privileged role it names, else the
// default role ("" when there is none).
func (o *OIDC) roleOf(claims map[string]any) engine.Role {
	var best engine.Role
	for _, v := range claimValues(claims, o.cfg.RoleClaim) {
		if r, ok := o.cfg.RoleMap[v]; ok && (best == "" || r.Allows(best)) {
			best = r
		}
	}
	if best == "" {
		return o.cfg.DefaultRole
	}
	return best
}

// claimValues returns the strings of the claim at path (dots reach into objects):
// a list's strings, or a string alone.
func claimValues(claims map[string]any, path string) []string {
	var v any = claims
	for part := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// safeReturnTo returns p when it is a path on this server, else "/": after a
// sign-in flowd never sends the browser elsewhere (an open redirect).
func safeReturnTo(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") || len(p) > 2048 {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	if slices.Contains([]string{OIDCLoginPath, OIDCCallbackPath}, u.Path) {
		return "/"
	}
	return p
}

var refusalTemplate = template.Must(template.New("refusal").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in refused - flowd</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Sign-in refused</h1>
<p id="sso-error">{{.}}</p>
<p><a href="/">Back to the sign-in page</a></p>
</body></html>
`))

// refusalPage answers a refused sign-in with a page that says why.
func refusalPage(c echo.Context, r *oidcRefusal) error {
	var b strings.Builder
	if err := refusalTemplate.Execute(&b, r.message); err != nil {
		return err
	}
	return c.HTML(r.status, b.String())
}
