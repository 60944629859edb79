package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/flowd/flowd/connectors/oauth"
)

// tokenServer records token requests and answers with body (a format string
// that may use %d for the request number).
type tokenServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	form []url.Values
}

func MustTokenServer(tb testing.TB, body string) *tokenServer {
	tb.Helper()
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		ts.mu.Lock()
		ts.reqs = append(ts.reqs, r)
		ts.form = append(ts.form, r.PostForm)
		n := len(ts.reqs)
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(body, "%d") {
			fmt.Fprintf(w, body, n)
		} else {
			fmt.Fprint(w, body)
		}
	}))
	tb.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.reqs)
}

func (ts *tokenServer) last() (*http.Request, url.Values) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.reqs[len(ts.reqs)-1], ts.form[len(ts.form)-1]
}

func TestClientCredentials(t *testing.T) {
	tests := []struct {
		name      string
		style     string
		wantBasic bool
	}{
		{"HeaderDefault", "", true},
		{"Header", oauth.AuthStyleHeader, true},
		{"Body", oauth.AuthStyleBody, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := MustTokenServer(t, `{"access_token":"a","token_type":"Bearer","expires_in":60}`)
			g := oauth.Grant{Type: oauth.TypeClientCredentials, TokenURL: ts.URL, ClientID: "id", ClientSecret: "sec ret",
				Scope: "read write", Audience: "https://api", Params: map[string]string{"resource": "r1"}, AuthStyle: tt.style}
			tok, err := g.Fetch(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "a" || tok.Expiry.IsZero() {
				t.Errorf("token = %+v", tok)
			}
			r, form := ts.last()
			want := map[string]string{"grant_type": "client_credentials", "scope": "read write", "audience": "https://api", "resource": "r1"}
			if !tt.wantBasic {
				want["client_id"], want["client_secret"] = "id", "sec ret"
			}
			for k, v := range want {
				if form.Get(k) != v {
					t.Errorf("form %s = %q, want %q", k, form.Get(k), v)
				}
			}
			id, secret, basic := r.BasicAuth()
			if basic != tt.wantBasic {
				t.Fatalf("basic auth = %v, want %v", basic, tt.wantBasic)
			}
			if basic && (id != "id" || secret != "sec+ret") { // RFC 6749 §2.3.1 form-encodes them
				t.Errorf("basic auth = %q:%q", id, secret)
			}
			if !basic && form.Has("client_assertion") {
				t.Errorf("unexpected client_assertion")
			}
		})
	}
}

func ecKeyPEM(tb testing.TB) (string, any) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), &k.PublicKey
}

func rsaKeyPEM(tb testing.TB) (string, any) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})), &k.PublicKey
}

func TestJWTAssertion(t *testing.T) {
	ecPEM, ecPub := ecKeyPEM(t)
	rsaPEM, rsaPub := rsaKeyPEM(t)
	tests := []struct {
		name    string
		pem     string
		alg     string
		pub     any
		wantAlg string
	}{
		{"ES256", ecPEM, "ES256", ecPub, "ES256"},
		{"ES256FromKey", ecPEM, "", ecPub, "ES256"},
		{"RS256", rsaPEM, "RS256", rsaPub, "RS256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := MustTokenServer(t, `{"access_token":"jwt-granted","token_type":"bearer"}`)
			g := oauth.Grant{Type: oauth.TypeJWTAssertion, TokenURL: ts.URL + "/token", ClientID: "client-1", Scope: "rest_webservices",
				PrivateKeyPEM: tt.pem, KID: "cert-7", Alg: tt.alg}
			tok, err := g.Fetch(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "jwt-granted" {
				t.Errorf("token = %q", tok.AccessToken)
			}
			r, form := ts.last()
			if _, _, basic := r.BasicAuth(); basic || form.Has("client_secret") {
				t.Errorf("a JWT assertion grant sent a secret")
			}
			if form.Get("grant_type") != "client_credentials" || form.Get("client_assertion_type") != oauth.AssertionType {
				t.Errorf("form = %v", form)
			}
			parsed, err := jwt.Parse(form.Get("client_assertion"), func(tk *jwt.Token) (any, error) { return tt.pub, nil },
				jwt.WithValidMethods([]string{tt.wantAlg}), jwt.WithAudience(ts.URL+"/token"), jwt.WithIssuer("client-1"), jwt.WithSubject("client-1"),
				jwt.WithIssuedAt(), jwt.WithExpirationRequired())
			if err != nil {
				t.Fatalf("assertion does not verify: %v", err)
			}
			claims := parsed.Claims.(jwt.MapClaims)
			if parsed.Header["kid"] != "cert-7" || claims["jti"] == "" || claims["scope"] != "rest_webservices" {
				t.Errorf("header %v claims %v", parsed.Header, claims)
			}
		})
	}
	t.Run("FreshJTI", func(t *testing.T) {
		ts := MustTokenServer(t, `{"access_token":"x"}`)
		g := oauth.Grant{Type: oauth.TypeJWTAssertion, TokenURL: ts.URL, ClientID: "c", PrivateKeyPEM: ecPEM}
		for range 2 {
			if _, err := g.Fetch(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
		}
		if ts.form[0].Get("client_assertion") == ts.form[1].Get("client_assertion") {
			t.Errorf("the same assertion was sent twice")
		}
	})
}

func TestGrantErrors(t *testing.T) {
	ecPEM, _ := ecKeyPEM(t)
	rsaPEM, _ := rsaKeyPEM(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(p384)
	p384PEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	cc := func(g oauth.Grant) oauth.Grant {
		g.Type, g.ClientID = oauth.TypeClientCredentials, "c"
		if g.TokenURL == "" {
			g.TokenURL = "https://auth.example.com/token"
		}
		return g
	}
	ja := func(key, alg string) oauth.Grant {
		return oauth.Grant{Type: oauth.TypeJWTAssertion, ClientID: "c", TokenURL: "https://auth.example.com/token", PrivateKeyPEM: key, Alg: alg}
	}
	tests := []struct {
		name string
		g    oauth.Grant
		want string
	}{
		{"ErrNoType", oauth.Grant{}, `set the type to "client_credentials" or "jwt_assertion"`},
		{"ErrType", oauth.Grant{Type: "password"}, `type "password" is unknown`},
		{"ErrNoSecret", cc(oauth.Grant{}), "set the client secret"},
		{"ErrTokenURL", cc(oauth.Grant{ClientSecret: "s", TokenURL: "auth.example.com"}), "set the token URL"},
		{"ErrAuthStyle", cc(oauth.Grant{ClientSecret: "s", AuthStyle: "auto"}), `auth style "auto" is unknown`},
		{"ErrNoKey", ja("", ""), "set the private key"},
		{"ErrAlg", ja(ecPEM, "HS256"), "algorithm \"HS256\" is not supported"},
		{"ErrKeyNotPEM", ja("garbage", ""), "not a PEM-encoded EC (P-256) or RSA private key"},
		{"ErrECWithRS256", ja(ecPEM, "RS256"), "EC key but its algorithm is RS256"},
		{"ErrRSAWithES256", ja(rsaPEM, "ES256"), "RSA key but its algorithm is ES256"},
		{"ErrCurve", ja(p384PEM, ""), "needs a P-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.g.Fetch(context.Background(), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFetchRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "unknown client"})
	}))
	defer srv.Close()
	g := oauth.Grant{Type: oauth.TypeClientCredentials, TokenURL: srv.URL, ClientID: "c", ClientSecret: "topsecret"}
	_, err := g.Fetch(context.Background(), nil)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"refused the token request", "401 Unauthorized", "invalid_client: unknown client", "check the grant's client id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "topsecret") {
		t.Errorf("error shows the secret: %v", err)
	}
}
