package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"golang.org/x/oauth2"

	"github.com/flowd/flowd/connectors/oauth"
	"github.com/flowd/flowd/secrets"
)

// StoredToken is an OAuth2 token as the database keeps it: sealed.
type StoredToken struct {
	Sealed    string
	TokenHash string
	RefreshAt time.Time
}

// TokenStore persists the OAuth2 tokens shared by the workers of a deployment.
type TokenStore interface {
	GetOAuthToken(ctx context.Context, key string) (StoredToken, error)
	PutOAuthToken(ctx context.Context, key string, t StoredToken) error
	DeleteOAuthToken(ctx context.Context, key, tokenHash string) error
}

// SharedTokens is the oauth.SharedStore of a deployment: tokens in its database,
// sealed with the secrets key, so that all workers use one token per grant.
type SharedTokens struct {
	Store TokenStore
	Keys  *secrets.Keyring
}

var _ oauth.SharedStore = (*SharedTokens)(nil)

func tokenHash(access string) string {
	sum := sha256.Sum256([]byte(access))
	return hex.EncodeToString(sum[:])
}

// LoadToken returns the shared token under key, if any.
func (s *SharedTokens) LoadToken(ctx context.Context, key string) (*oauth2.Token, time.Time, bool, error) {
	st, err := s.Store.GetOAuthToken(ctx, key)
	if ErrorCode(err) == ENotFound {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, err
	}
	plain, err := s.Keys.Open("oauth-token:"+key, st.Sealed)
	if err != nil {
		return nil, time.Time{}, false, nil // sealed with another key: fetch a new one
	}
	var tok oauth2.Token
	if err := json.Unmarshal([]byte(plain), &tok); err != nil {
		return nil, time.Time{}, false, nil
	}
	return &tok, st.RefreshAt, true, nil
}

// SaveToken stores a token under key, sealed.
func (s *SharedTokens) SaveToken(ctx context.Context, key string, tok *oauth2.Token, refreshAt time.Time) error {
	plain, err := json.Marshal(tok)
	if err != nil {
		return err
	}
	sealed, err := s.Keys.Seal("oauth-token:"+key, string(plain))
	if err != nil {
		return err
	}
	return s.Store.PutOAuthToken(ctx, key, StoredToken{Sealed: sealed, TokenHash: tokenHash(tok.AccessToken), RefreshAt: refreshAt})
}

// DeleteToken drops the token under key if it is still accessToken.
func (s *SharedTokens) DeleteToken(ctx context.Context, key, accessToken string) error {
	return s.Store.DeleteOAuthToken(ctx, key, tokenHash(accessToken))
}
