// Package secrets keeps flowd's secret values safe: a Keyring seals them with
// AES-256-GCM for storage, and a Redactor removes them (and their base64 and
// URL-encoded forms) from anything shown or stored.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// KeyFile is the name of the key file generated in the data dir when no key is given.
const KeyFile = "secret.key"

// sealPrefix starts every sealed value, so the format can change later.
const sealPrefix = "v1"

// Keyring holds the keys that seal secrets: the first seals, all of them open, so
// that a key can be rotated by putting the new one first.
type Keyring struct {
	keys []key
}

type key struct {
	id   string
	aead cipher.AEAD
}

// ErrWrongKey is wrapped by Open's error when the value was sealed with a key the
// keyring does not hold, or was altered.
var ErrWrongKey = errors.New("the secret cannot be decrypted with the configured key")

// NewKeyring returns a keyring of the given keys, the first of which seals. It
// returns an error when there is no key or a key is not KeySize bytes.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("no secret key: set FLOWD_SECRET_KEY to a base64-encoded 32-byte key")
	}
	k := &Keyring{}
	for i, raw := range keys {
		if len(raw) != KeySize {
			return nil, fmt.Errorf("secret key %d is %d bytes, want %d; generate one with: openssl rand -base64 32", i+1, len(raw), KeySize)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		k.keys = append(k.keys, key{id: keyID(raw), aead: aead})
	}
	return k, nil
}

// ParseKeys returns the keyring of a comma-separated list of base64-encoded
// 32-byte keys (the format of FLOWD_SECRET_KEY; the first one seals). It returns
// an error that says how to make a key when one is malformed.
func ParseKeys(s string) (*Keyring, error) {
	var keys [][]byte
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		raw, err := decodeKey(part)
		if err != nil {
			return nil, fmt.Errorf("secret key %d is not base64 (%v); generate one with: openssl rand -base64 32", i+1, err)
		}
		keys = append(keys, raw)
	}
	return NewKeyring(keys...)
}

func decodeKey(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var raw []byte
		if raw, err = enc.DecodeString(s); err == nil {
			return raw, nil
		}
	}
	return nil, err
}

// Load returns the keyring of env (FLOWD_SECRET_KEY's value) when it is set, else
// of the key in dataDir/secret.key, which it generates (mode 0600) on the first
// start with a warning on log: every flowd process that shares a database must
// use the same key. It returns an error when a key is malformed or the file
// cannot be read or written.
func Load(env, dataDir string, log *slog.Logger) (*Keyring, error) {
	if strings.TrimSpace(env) != "" {
		return ParseKeys(env)
	}
	path := filepath.Join(dataDir, KeyFile)
	data, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKeys(strings.TrimSpace(string(data)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the secret key %s: %w", path, err)
	}
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", dataDir, err)
	}
	// O_EXCL: when two processes start at once, one writes and the other reads.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return Load(env, dataDir, log)
	}
	if err != nil {
		return nil, fmt.Errorf("write the secret key %s: %w (or set FLOWD_SECRET_KEY)", path, err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		return nil, fmt.Errorf("write the secret key %s: %w (or set FLOWD_SECRET_KEY)", path, err)
	}
	if log != nil {
		log.Warn("FLOWD_SECRET_KEY is not set: generated a key for secrets in "+path+"; back it up (without it the stored secrets are lost) and set FLOWD_SECRET_KEY to its contents on every flowd process that shares this database",
			"path", path)
	}
	return NewKeyring(raw)
}

// keyID names a key without revealing it: the start of its SHA-256.
func keyID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:4])
}

// KeyID returns the id of the key that seals, as Seal writes it in sealed values.
func (k *Keyring) KeyID() string { return k.keys[0].id }

// Seal encrypts value for the secret called name with the first key. The name is
// authenticated, so a sealed value copied to another name does not open. The
// result is printable: "v1.<key id>.<base64 of nonce and ciphertext>".
func (k *Keyring) Seal(name, value string) (string, error) {
	primary := k.keys[0]
	nonce := make([]byte, primary.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := primary.aead.Seal(nonce, nonce, []byte(value), []byte(name))
	return sealPrefix + "." + primary.id + "." + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// IsSealed reports whether s has the form Seal writes. Sealed values contain dots,
// which base64 and hex never do, so a plaintext key is never taken for one.
func IsSealed(s string) bool {
	parts := strings.SplitN(s, ".", 3)
	return len(parts) == 3 && parts[0] == sealPrefix
}

// SealedWithPrimary reports whether sealed was sealed with the key that seals now,
// so that values sealed with an older key can be sealed again after a rotation.
func (k *Keyring) SealedWithPrimary(sealed string) bool {
	parts := strings.SplitN(sealed, ".", 3)
	return len(parts) == 3 && parts[0] == sealPrefix && parts[1] == k.keys[0].id
}

// Open decrypts a value sealed by Seal for the secret called name. It returns an
// error wrapping ErrWrongKey, naming the key id, when the value was sealed with a
// key the keyring lacks or was altered, and another error when it is malformed.
func (k *Keyring) Open(name, sealed string) (string, error) {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) != 3 || parts[0] != sealPrefix {
		return "", fmt.Errorf("secret %q is stored in an unknown format", name)
	}
	data, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil {
		return "", fmt.Errorf("secret %q is stored in an unknown format: %w", name, err)
	}
	for _, key := range k.keys {
		if key.id != parts[1] {
			continue
		}
		ns := key.aead.NonceSize()
		if len(data) < ns {
			break
		}
		plain, err := key.aead.Open(nil, data[:ns], data[ns:], []byte(name))
		if err != nil {
			break
		}
		return string(plain), nil
	}
	return "", fmt.Errorf("secret %q was encrypted with key %s, which this flowd does not have or which does not match: %w; set FLOWD_SECRET_KEY to the key that stored it (every flowd process sharing the database needs the same key), or store the secret again", name, parts[1], ErrWrongKey)
}
