package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/flowd/flowd/api"
	"github.com/flowd/flowd/internal/app"
	"github.com/flowd/flowd/secrets"
	"github.com/flowd/flowd/store"
)

// isolated is a database of its own, for tests that change what every token of a
// deployment depends on (the signing key): a fresh data dir, and on PostgreSQL a
// fresh schema of the test database.
type isolated struct {
	dir   string // data dir: flowd.db (SQLite) and secret.key
	dbURL string // "" for SQLite
	sql   *sql.DB
}

func newIsolated(t *testing.T, b *backend) *isolated {
	t.Helper()
	iso := &isolated{dir: t.TempDir()}
	if b.name == "postgres" {
		base := os.Getenv("FLOWD_TEST_POSTGRES_URL")
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Close() })
		schema := fmt.Sprintf("keys_%d", time.Now().UnixNano())
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		iso.dbURL = u.String()
		if iso.sql, err = sql.Open("pgx", iso.dbURL); err != nil {
			t.Fatal(err)
		}
	} else {
		// The schema must exist before a raw connection reads it.
		st, err := store.Open(context.Background(), "", iso.dir)
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		var err2 error
		if iso.sql, err2 = sql.Open("sqlite", "file:"+filepath.Join(iso.dir, "flowd.db")+"?_pragma=busy_timeout(10000)"); err2 != nil {
			t.Fatal(err2)
		}
	}
	t.Cleanup(func() { iso.sql.Close() })
	return iso
}

// pgPlaceholders turns the ? placeholders of q into PostgreSQL's $1, $2, ...
func pgPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// migrate applies the schema, as a first start would, without starting flowd.
func (iso *isolated) migrate(t *testing.T) {
	t.Helper()
	st, err := store.Open(context.Background(), iso.dbURL, iso.dir)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}

// startAPI starts an API-only flowd on the isolated database, using the backend's
// Temporal server, and returns a client signed in as the admin.
func (iso *isolated) startAPI(t *testing.T, b *backend) (*app.App, *client) {
	t.Helper()
	return startSignedIn(t, app.Config{
		Addr: "127.0.0.1:0", DataDir: iso.dir, DatabaseURL: iso.dbURL, TemporalAddress: b.app.TemporalAddress,
		Role: "api", TaskQueue: "e2e-keys",
	})
}

// serverKeys returns every row of server_keys, as anyone who reads the database does.
func (iso *isolated) serverKeys(t *testing.T) map[string]string {
	t.Helper()
	rows, err := iso.sql.Query("SELECT name, value FROM server_keys")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			t.Fatal(err)
		}
		out[name] = value
	}
	return out
}

// generation returns the stored generation of an API client.
func (iso *isolated) generation(t *testing.T, id string) string {
	t.Helper()
	var gen string
	q := "SELECT generation FROM api_clients WHERE id = ?"
	if iso.dbURL != "" {
		q = pgPlaceholders(q)
	}
	if err := iso.sql.QueryRow(q, id).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	return gen
}

// openedKey returns the signing key as flowd uses it, opened with the secrets key of
// the data dir (which an attacker with the database alone does not have).
func (iso *isolated) openedKey(t *testing.T) []byte {
	t.Helper()
	keys, err := secrets.Load("", iso.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := keys.Open("server_key:jwt_hs256", iso.serverKeys(t)["jwt_hs256"])
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.RawURLEncoding.DecodeString(plain)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// mint signs an admin token for the e2e admin with key, as flowd would.
func mint(t *testing.T, key []byte, gen string) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{"role": "admin", "sub": adminID, "iss": "flowd", "aud": []string{"flowd-api"},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": fmt.Sprint(now.UnixNano())}
	if gen != "" {
		claims["gen"] = gen
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// keyCandidates are the keys an attacker derives from a stored value: the text, and
// the base64 decodings of it and of its dot-separated parts.
func keyCandidates(v string) [][]byte {
	out := [][]byte{[]byte(v)}
	for _, part := range append([]string{v}, strings.Split(v, ".")...) {
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.RawStdEncoding, base64.StdEncoding, base64.URLEncoding} {
			if b, err := enc.DecodeString(part); err == nil && len(b) > 0 {
				out = append(out, b, b[min(len(b), 12):]) // also without a GCM nonce
			}
		}
	}
	return out
}

// TestSigningKeyNotInDatabase reads the database as an attacker would and tries to
// mint an admin token from every stored key: none works, while a token signed with
// the key as flowd opens it (with the secrets key, not in the database) does.
func TestSigningKeyNotInDatabase(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		iso := newIsolated(t, b)
		a, _ := iso.startAPI(t, b)
		gen := iso.generation(t, adminID)
		stored := iso.serverKeys(t)
		if !secrets.IsSealed(stored["jwt_hs256"]) {
			t.Fatalf("the signing key is stored as %q, not sealed", stored["jwt_hs256"])
		}
		for name, v := range stored {
			for _, key := range keyCandidates(v) {
				forged := &client{base: a.URL, token: mint(t, key, gen)}
				if st, _ := forged.call("GET", "/api/v1/clients", nil, nil); st != 401 {
					t.Fatalf("a token signed with a key derived from server_keys %s (%q) got HTTP %d, want 401", name, v, st)
				}
			}
		}
		key := iso.openedKey(t)
		genuine := &client{base: a.URL, token: mint(t, key, gen)}
		genuine.must(t, "GET", "/api/v1/clients", nil, nil, 200) // the forgery above was done right
		if b.name == "sqlite" {
			// Nowhere in the files, in any encoding flowd uses.
			for _, f := range []string{"flowd.db", "flowd.db-wal"} {
				data, err := os.ReadFile(filepath.Join(iso.dir, f))
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				for _, form := range [][]byte{key, []byte(base64.RawURLEncoding.EncodeToString(key)), []byte(base64.StdEncoding.EncodeToString(key))} {
					if bytes.Contains(data, form) {
						t.Fatalf("%s holds the signing key in plaintext", f)
					}
				}
			}
		}
	})
}

// TestSigningKeyMigrated: a plaintext key stored by an older flowd is sealed at the
// next start, and is the same key: tokens issued before the upgrade keep working.
func TestSigningKeyMigrated(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		iso := newIsolated(t, b)
		iso.migrate(t)
		old := make([]byte, 32)
		for i := range old {
			old[i] = byte(i*7 + 3)
		}
		plain := base64.RawURLEncoding.EncodeToString(old)
		// What an older flowd left: the key in plaintext, and the admin client
		// without a generation.
		ins := []string{"INSERT INTO server_keys (name, value, created_at) VALUES ('jwt_hs256', ?, ?)",
			"INSERT INTO api_clients (id, name, secret_hash, role, created_at) VALUES (?, 'bootstrap admin', ?, 'admin', ?)"}
		args := [][]any{{plain, time.Now().UTC()}, {adminID, api.HashSecret(adminSecret), time.Now().UTC()}}
		for i, q := range ins {
			if iso.dbURL != "" {
				q = pgPlaceholders(q)
			}
			if _, err := iso.sql.Exec(q, args[i]...); err != nil {
				t.Fatal(err)
			}
		}
		a, _ := iso.startAPI(t, b)
		v := iso.serverKeys(t)["jwt_hs256"]
		if !secrets.IsSealed(v) || strings.Contains(v, plain) {
			t.Fatalf("after the start the signing key is stored as %q, want it sealed", v)
		}
		if got := iso.openedKey(t); !bytes.Equal(got, old) {
			t.Fatalf("the sealed key is not the migrated one")
		}
		// A token of before the upgrade, without a generation claim, for the admin of
		// before, which the start kept as it was.
		if gen := iso.generation(t, adminID); gen != "" {
			t.Fatalf("the start replaced the admin client of before (generation %q)", gen)
		}
		before := &client{base: a.URL, token: mint(t, old, "")}
		before.must(t, "GET", "/api/v1/clients", nil, nil, 200)
		// A second start finds it sealed and leaves it as it is.
		iso.startAPI(t, b)
		if again := iso.serverKeys(t)["jwt_hs256"]; again != v {
			t.Fatalf("a second start sealed the key again: %q then %q", v, again)
		}
	})
}

// TestDeletedClientTokenStaysDead: a token of a deleted client gets 401, also once
// an admin creates a client with the same id and role again.
func TestDeletedClientTokenStaysDead(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		id := unique("revived")
		create := func() string {
			var created struct {
				Secret string `json:"secret"`
			}
			b.api.must(t, "POST", "/api/v1/clients", map[string]string{"id": id, "name": "x", "role": "editor"}, &created, 201)
			return created.Secret
		}
		oldClient := &client{base: b.app.URL}
		if err := oldClient.login(id, create()); err != nil {
			t.Fatal(err)
		}
		oldClient.must(t, "GET", "/api/v1/flows", nil, nil, 200)
		b.api.must(t, "DELETE", "/api/v1/clients/"+id, nil, nil, 204)
		oldClient.must(t, "GET", "/api/v1/flows", nil, nil, 401)
		secret := create()
		var body struct {
			Error struct{ Message string } `json:"error"`
		}
		oldClient.must(t, "GET", "/api/v1/flows", nil, &body, 401)
		if !strings.Contains(body.Error.Message, "deleted") {
			t.Errorf("401 message %q does not say the client was deleted", body.Error.Message)
		}
		oldClient.must(t, "PUT", "/api/v1/flows/"+unique("revived"), map[string]string{"script": "function handler() {}"}, nil, 401)
		fresh := &client{base: b.app.URL}
		if err := fresh.login(id, secret); err != nil {
			t.Fatal(err)
		}
		fresh.must(t, "GET", "/api/v1/flows", nil, nil, 200)
	})
}

// TestSigningKeyRotation: an admin rotates the signing key through one API process;
// every token issued before, by either of two processes sharing the database, then
// gets 401 from both, new tokens work on both, and the new key is sealed too.
func TestSigningKeyRotation(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		iso := newIsolated(t, b)
		a1, admin1 := iso.startAPI(t, b)
		a2, admin2 := iso.startAPI(t, b)
		var created struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		}
		admin1.must(t, "POST", "/api/v1/clients", map[string]string{"name": "r", "role": "runner"}, &created, 201)
		runner := &client{base: a2.URL}
		if err := runner.login(created.ID, created.Secret); err != nil {
			t.Fatal(err)
		}
		// Before: every token works on either process.
		for _, c := range []*client{admin1, admin2, runner} {
			for _, base := range []string{a1.URL, a2.URL} {
				(&client{base: base, token: c.token}).must(t, "GET", "/api/v1/executions", nil, nil, 200)
			}
		}
		runner.must(t, "POST", "/api/v1/auth/signing-key/rotate", nil, nil, 403)
		before := iso.serverKeys(t)["jwt_hs256"]
		oldKey := iso.openedKey(t)
		admin1.must(t, "POST", "/api/v1/auth/signing-key/rotate", nil, nil, 204)
		after := iso.serverKeys(t)["jwt_hs256"]
		if after == before || !secrets.IsSealed(after) {
			t.Fatalf("after the rotation the stored key is %q (before %q), want another sealed value", after, before)
		}
		for _, c := range []*client{admin1, admin2, runner} {
			for _, base := range []string{a1.URL, a2.URL} {
				(&client{base: base, token: c.token}).must(t, "GET", "/api/v1/executions", nil, nil, 401)
			}
		}
		// Nor can one be minted with the old key.
		forged := &client{base: a2.URL, token: mint(t, oldKey, iso.generation(t, adminID))}
		forged.must(t, "GET", "/api/v1/clients", nil, nil, 401)
		// Clients sign in again and carry on, on either process.
		if err := runner.login(created.ID, created.Secret); err != nil {
			t.Fatal(err)
		}
		for _, base := range []string{a1.URL, a2.URL} {
			(&client{base: base, token: runner.token}).must(t, "GET", "/api/v1/executions", nil, nil, 200)
		}
	})
}
