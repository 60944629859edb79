package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/secrets"
)

const (
	// signingKeyRow is the server_keys row that holds the JWT signing key.
	signingKeyRow = "jwt_hs256"
	// signingKeySealName is what the key is sealed under. Sealing authenticates the
	// name, and secret names cannot hold ':', so no sealed secret value can be copied
	// into the row to become the signing key.
	signingKeySealName = "server_key:jwt_hs256"
	// minSigningKeyBytes is the shortest key accepted from the store (HS256 wants
	// at least as many bytes as the hash has).
	minSigningKeyBytes = 32
)

// KeyStore keeps the server's keys, shared by every flowd process of a deployment;
// *store.Store implements it.
type KeyStore interface {
	// ServerKey returns the value stored under name, storing generate() first when
	// there is none.
	ServerKey(ctx context.Context, name string, generate func() (string, error)) (string, error)
	// SwapServerKey replaces the value under name with value if it is still old, and
	// reports whether it did.
	SwapServerKey(ctx context.Context, name, old, value string) (bool, error)
}

// SigningKey is the HS256 key that signs and verifies access tokens. It is stored
// sealed with the secrets key (FLOWD_SECRET_KEY), so that the database alone does
// not let anyone mint tokens, and it is read from the store for every token, so that
// a rotation by one API process is seen by all of them at once.
type SigningKey struct {
	store KeyStore
	keys  *secrets.Keyring

	mu     sync.Mutex
	sealed string // the stored value key was opened from
	key    []byte
}

// LoadSigningKey returns the signing key of st, creating it sealed on the first start.
// A key stored in plaintext (by a flowd from before keys were sealed) is sealed in
// place, as is one sealed with a secrets key that is no longer the first of keys,
// keeping the key itself, so that tokens issued before keep working. It returns an
// error that says what to do when the stored key cannot be opened with keys. A
// plaintext key it seals is logged on log, with the advice to rotate it.
func LoadSigningKey(ctx context.Context, st KeyStore, keys *secrets.Keyring, log *slog.Logger) (*SigningKey, error) {
	k := &SigningKey{store: st, keys: keys}
	// Several processes may start at once: each seals and swaps, one swap wins, and
	// every process then reads and uses the winner's value.
	for range 5 {
		stored, err := st.ServerKey(ctx, signingKeyRow, k.generate)
		if err != nil {
			return nil, fmt.Errorf("read the token signing key: %w", err)
		}
		var plain string
		switch {
		case !secrets.IsSealed(stored):
			plain = stored
			if _, err := decodeSigningKey(plain); err != nil {
				return nil, err
			}
		case !keys.SealedWithPrimary(stored):
			if plain, err = keys.Open(signingKeySealName, stored); err != nil {
				return nil, signingKeyError(err)
			}
		default:
			if _, err := k.current(ctx); err != nil {
				return nil, err
			}
			return k, nil
		}
		sealed, err := keys.Seal(signingKeySealName, plain)
		if err != nil {
			return nil, err
		}
		swapped, err := st.SwapServerKey(ctx, signingKeyRow, stored, sealed)
		if err != nil {
			return nil, fmt.Errorf("seal the token signing key: %w", err)
		}
		if swapped && !secrets.IsSealed(stored) && log != nil {
			log.Warn("the token signing key was stored in plaintext by an older flowd: it is sealed with the secrets key now; " +
				"copies of the database made before still hold it, so rotate it once every flowd process runs this version (POST /api/v1/auth/signing-key/rotate, see docs/keys.md)")
		}
	}
	return nil, errors.New("the token signing key kept changing while flowd started; start flowd again")
}

// generate returns a new key, sealed.
func (k *SigningKey) generate() (string, error) {
	return k.keys.Seal(signingKeySealName, NewSecret())
}

// current returns the key stored now, opening it only when the stored value changed.
// It refuses a value that is not sealed: only a start seals a plaintext key.
func (k *SigningKey) current(ctx context.Context) ([]byte, error) {
	stored, err := k.store.ServerKey(ctx, signingKeyRow, k.generate)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if stored == k.sealed && k.key != nil {
		return k.key, nil
	}
	if !secrets.IsSealed(stored) {
		return nil, errors.New("the token signing key in the database is not sealed; restart flowd, which seals it")
	}
	plain, err := k.keys.Open(signingKeySealName, stored)
	if err != nil {
		return nil, signingKeyError(err)
	}
	key, err := decodeSigningKey(plain)
	if err != nil {
		return nil, err
	}
	k.sealed, k.key = stored, key
	return key, nil
}

// Rotate replaces the signing key with a new one: every token issued before stops
// working, in every API process, and clients get new ones from POST
// /api/v1/auth/token. It returns the store's error.
func (k *SigningKey) Rotate(ctx context.Context) error {
	stored, err := k.store.ServerKey(ctx, signingKeyRow, k.generate)
	if err != nil {
		return err
	}
	fresh, err := k.generate()
	if err != nil {
		return err
	}
	// Losing the swap means another rotation replaced the key at the same moment:
	// the old key is gone either way.
	_, err = k.store.SwapServerKey(ctx, signingKeyRow, stored, fresh)
	return err
}

func decodeSigningKey(plain string) ([]byte, error) {
	key, err := base64.RawURLEncoding.DecodeString(plain)
	if err != nil || len(key) < minSigningKeyBytes {
		return nil, errors.New("the token signing key in the database (server_keys, name jwt_hs256) is malformed; delete that row and start flowd again, which makes a new key (tokens issued before stop working)")
	}
	return key, nil
}

func signingKeyError(err error) error {
	return fmt.Errorf("open the token signing key: %w; or, if that key is lost, delete the row of server_keys named jwt_hs256 and start flowd again, which makes a new signing key (tokens issued before stop working)", err)
}

// rotateSigningKey is POST /api/v1/auth/signing-key/rotate.
func (s *Server) rotateSigningKey(c echo.Context) error {
	if err := s.Auth.Key.Rotate(c.Request().Context()); err != nil {
		return err
	}
	s.audit(c, "signing_key.rotate", "signing_key", "", nil)
	return c.NoContent(http.StatusNoContent)
}
