package app

import (
	"fmt"

	"github.com/flowd/flowd/api"
	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/secrets"
)

// newOIDC returns the single sign-on of cfg, nil when cfg sets no issuer, or an
// error naming the setting to fix. baseURL is the public URL of the API.
func newOIDC(cfg Config, baseURL string, keys *secrets.Keyring) (*api.OIDC, error) {
	if cfg.OIDCIssuer == "" {
		if cfg.OIDCClientID != "" {
			return nil, fmt.Errorf("FLOWD_OIDC_CLIENT_ID is set but FLOWD_OIDC_ISSUER is not: set the provider's issuer URL too, or unset the client id")
		}
		return nil, nil
	}
	roles := make(map[string]engine.Role, len(cfg.OIDCRoleMap))
	for group, role := range cfg.OIDCRoleMap {
		roles[group] = engine.Role(role)
	}
	o, err := api.NewOIDC(api.OIDCConfig{
		Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret, Name: cfg.OIDCName,
		RedirectURL: baseURL + api.OIDCCallbackPath, RoleClaim: cfg.OIDCRoleClaim, RoleMap: roles,
		DefaultRole: engine.Role(cfg.OIDCDefaultRole), AutoProvision: cfg.OIDCAutoProvision,
	}, keys)
	if err != nil {
		return nil, fmt.Errorf("single sign-on: %w", err)
	}
	cfg.Log.Info("single sign-on through OpenID Connect", "issuer", cfg.OIDCIssuer, "redirect_uri", baseURL+api.OIDCCallbackPath,
		"auto_provision", cfg.OIDCAutoProvision)
	return o, nil
}
