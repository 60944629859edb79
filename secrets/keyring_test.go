package secrets_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowd/flowd/secrets"
)

func mustKey(tb testing.TB, b byte) []byte {
	tb.Helper()
	return bytes.Repeat([]byte{b}, secrets.KeySize)
}

func mustKeyring(tb testing.TB, keys ...[]byte) *secrets.Keyring {
	tb.Helper()
	k, err := secrets.NewKeyring(keys...)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := mustKeyring(t, mustKey(t, 1))
	sealed, err := k.Seal("api_token", "s3cr3t-value")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "s3cr3t") || !strings.HasPrefix(sealed, "v1."+k.KeyID()+".") {
		t.Fatalf("sealed = %q", sealed)
	}
	again, _ := k.Seal("api_token", "s3cr3t-value")
	if again == sealed {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	got, err := k.Open("api_token", sealed)
	if err != nil || got != "s3cr3t-value" {
		t.Fatalf("Open = %q, %v", got, err)
	}

	t.Run("ErrOtherName", func(t *testing.T) {
		if _, err := k.Open("other", sealed); !errors.Is(err, secrets.ErrWrongKey) {
			t.Fatalf("err = %v, want ErrWrongKey", err)
		}
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		other := mustKeyring(t, mustKey(t, 2))
		_, err := other.Open("api_token", sealed)
		if !errors.Is(err, secrets.ErrWrongKey) || !strings.Contains(err.Error(), "FLOWD_SECRET_KEY") || !strings.Contains(err.Error(), k.KeyID()) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrAltered", func(t *testing.T) {
		b := []byte(sealed)
		b[len(b)-2] ^= 1
		if _, err := k.Open("api_token", string(b)); err == nil {
			t.Fatal("an altered value opened")
		}
	})
	t.Run("ErrFormat", func(t *testing.T) {
		if _, err := k.Open("api_token", "plain"); err == nil || !strings.Contains(err.Error(), "unknown format") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Rotation", func(t *testing.T) {
		rotated := mustKeyring(t, mustKey(t, 3), mustKey(t, 1))
		if got, err := rotated.Open("api_token", sealed); err != nil || got != "s3cr3t-value" {
			t.Fatalf("old key: %q, %v", got, err)
		}
		resealed, _ := rotated.Seal("api_token", "new")
		if _, err := k.Open("api_token", resealed); err == nil {
			t.Fatal("the new seal opened with the old key alone: the first key did not seal")
		}
	})
}

func TestParseKeys(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	tests := []struct {
		name, in, wantErr string
	}{
		{"OK", base64.StdEncoding.EncodeToString(k1), ""},
		{"Raw", base64.RawURLEncoding.EncodeToString(k1), ""},
		{"Two", base64.StdEncoding.EncodeToString(k1) + ", " + base64.StdEncoding.EncodeToString(k2), ""},
		{"ErrShort", base64.StdEncoding.EncodeToString(k1[:16]), "is 16 bytes, want 32"},
		{"ErrNotBase64", "not base64!", "not base64"},
		{"ErrEmpty", " , ", "set FLOWD_SECRET_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := secrets.ParseKeys(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))

	first, err := secrets.Load("", dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "FLOWD_SECRET_KEY is not set") {
		t.Fatalf("no warning logged: %s", logged.String())
	}
	info, err := os.Stat(filepath.Join(dir, secrets.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}

	logged.Reset()
	second, err := secrets.Load("", dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if second.KeyID() != first.KeyID() || logged.Len() != 0 {
		t.Fatalf("second start: key %s (first %s), log %q", second.KeyID(), first.KeyID(), logged.String())
	}
	sealed, _ := first.Seal("n", "v")
	if v, err := second.Open("n", sealed); err != nil || v != "v" {
		t.Fatalf("Open = %q, %v", v, err)
	}

	env := base64.StdEncoding.EncodeToString(mustKey(t, 9))
	fromEnv, err := secrets.Load(env, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if fromEnv.KeyID() == first.KeyID() {
		t.Fatal("FLOWD_SECRET_KEY did not win over the key file")
	}
}

func TestSealedForms(t *testing.T) {
	oldRing, _ := secrets.NewKeyring(mustKey(t, 1))
	newRing, _ := secrets.NewKeyring(mustKey(t, 2), mustKey(t, 1))
	sealed, err := oldRing.Seal("n", "v")
	if err != nil {
		t.Fatal(err)
	}
	plain := base64.RawURLEncoding.EncodeToString(mustKey(t, 3))
	if !secrets.IsSealed(sealed) || secrets.IsSealed(plain) || secrets.IsSealed("v1.only") {
		t.Fatalf("IsSealed: sealed %v, plaintext %v", secrets.IsSealed(sealed), secrets.IsSealed(plain))
	}
	if !oldRing.SealedWithPrimary(sealed) || newRing.SealedWithPrimary(sealed) {
		t.Fatal("SealedWithPrimary does not tell the sealing key")
	}
	if v, err := newRing.Open("n", sealed); err != nil || v != "v" {
		t.Fatalf("the new ring opens %q %v", v, err)
	}
}
