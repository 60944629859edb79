package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// restAPI is an API with every authentication method flowd's REST connector
// speaks, plus the token endpoints of two OAuth2 grants. Each endpoint answers
// 401 unless it gets the right credential, and echoes the credential it got (as
// httpbin would), so that the tests can check flowd redacts it.
type restAPI struct {
	*httptest.Server
	user, password, bearer, apiKey string // what the API expects
	clientSecret                   string
	jwtKey                         *ecdsa.PrivateKey
	keyPEM                         string // jwtKey as PKCS#8 PEM, the grant's private_key secret
	ccToken, jwtToken, customToken string // what the token endpoints hand out
	ccRequests, jwtRequests        atomic.Int32
	mu                             sync.Mutex
	jtis                           map[string]bool
}

func newRESTAPI(t *testing.T) *restAPI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := &restAPI{
		user: "svc", password: "pw-" + unique("p") + "&/+", bearer: "bearer-" + unique("b"), apiKey: "key-" + unique("k"),
		clientSecret: "cs-" + unique("c"), jwtKey: key, jtis: map[string]bool{},
		ccToken: "cc-access-" + unique("t"), jwtToken: "jwt-access-" + unique("t"), customToken: "custom-access-" + unique("t"),
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	a.keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *restAPI) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	deny := func(why string) {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"error": why})
	}
	echo := func(credential string) {
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "path": r.URL.Path, "credential": credential})
	}
	bearerIs := func(tok string) bool { return r.Header.Get("Authorization") == "Bearer "+tok }
	switch r.URL.Path {
	case "/basic":
		if u, p, ok := r.BasicAuth(); !ok || u != a.user || p != a.password {
			deny("basic")
			return
		}
		echo(r.Header.Get("Authorization"))
	case "/bearer":
		if !bearerIs(a.bearer) {
			deny("bearer")
			return
		}
		echo(r.Header.Get("Authorization"))
	case "/key-header":
		if r.Header.Get("X-Api-Key") != a.apiKey {
			deny("api key header")
			return
		}
		echo(r.Header.Get("X-Api-Key"))
	case "/key-query":
		if r.URL.Query().Get("apikey") != a.apiKey {
			deny("api key query")
			return
		}
		echo(r.URL.RawQuery)
	case "/login": // custom auth
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		if body["username"] != a.user || body["password"] != a.password || r.Header.Get("X-Client") != "flowd" {
			deny("login")
			return
		}
		fmt.Fprintf(w, `{"data": {"token": %q}}`, a.customToken)
	case "/custom":
		if !bearerIs(a.customToken) {
			deny("custom token")
			return
		}
		echo(r.Header.Get("Authorization"))
	case "/get-data": // Peak's feed
		if !bearerIs(a.customToken) {
			deny("custom token")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"data": []map[string]any{{"id": 1}, {"id": 2}, {"id": 3}}, "token": a.customToken})
	case "/oauth/token": // client_credentials, credentials in the body
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_id") != "flowd" ||
			r.PostForm.Get("client_secret") != a.clientSecret || r.PostForm.Get("scope") != "read" {
			deny("client credentials")
			return
		}
		a.ccRequests.Add(1)
		fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": 3600}`, a.ccToken)
	case "/oauth2":
		if !bearerIs(a.ccToken) {
			deny("oauth2 token")
			return
		}
		echo(r.Header.Get("Authorization"))
	case "/api/v1/items": // Foundry-style pages
		if !bearerIs(a.ccToken) {
			deny("oauth2 token")
			return
		}
		page, next := r.URL.Query().Get("pageToken"), ""
		items := []string{"a1", "a2"}
		switch page {
		case "":
			next = "p2"
		case "p2":
			items, next = []string{"b1", "b2"}, "p3"
		case "p3":
			items = []string{"c1"}
		}
		json.NewEncoder(w).Encode(map[string]any{"data": items, "nextPageToken": next, "seen": r.Header.Get("Authorization")})
	case "/services/rest/auth/oauth2/v1/token": // NetSuite-style JWT assertion
		if why := a.checkAssertion(r); why != "" {
			deny(why)
			return
		}
		a.jwtRequests.Add(1)
		fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": 3600}`, a.jwtToken)
	case "/jwt":
		if !bearerIs(a.jwtToken) {
			deny("jwt token")
			return
		}
		echo(r.Header.Get("Authorization"))
	default:
		if strings.HasPrefix(r.URL.Path, "/services/rest/record/v1/account/") {
			var body map[string]string
			if !bearerIs(a.jwtToken) || r.Method != http.MethodPatch || json.NewDecoder(r.Body).Decode(&body) != nil || body["acctName"] == "" {
				deny("account update")
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.NotFound(w, r)
	}
}

// checkAssertion verifies an RFC 7523 client assertion with the public key, as
// NetSuite does; it returns what is wrong, or "".
func (a *restAPI) checkAssertion(r *http.Request) string {
	r.ParseForm()
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" || f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return "grant or assertion type"
	}
	var claims jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(f.Get("client_assertion"), &claims, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != "cert-1" {
			return nil, fmt.Errorf("kid %v", t.Header["kid"])
		}
		return &a.jwtKey.PublicKey, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuedAt(), jwt.WithExpirationRequired(),
		jwt.WithIssuer("ns-client"), jwt.WithSubject("ns-client"), jwt.WithAudience(a.URL+r.URL.Path))
	if err != nil || !tok.Valid {
		return fmt.Sprintf("assertion: %v", err)
	}
	if claims.ID == "" || claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > time.Hour {
		return "assertion claims"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.jtis[claims.ID] {
		return "assertion replayed"
	}
	a.jtis[claims.ID] = true
	return ""
}

// setUp stores the secrets and both grants on b and returns the names: secrets
// by their role (password, bearer, api_key, client_secret, private_key), and
// the grants as "cc" and "jwt".
func (a *restAPI) setUp(t *testing.T, b *backend) map[string]string {
	t.Helper()
	n := map[string]string{}
	for role, value := range map[string]string{"password": a.password, "bearer": a.bearer, "api_key": a.apiKey, "client_secret": a.clientSecret, "private_key": a.keyPEM} {
		n[role] = unique(role)
		putSecret(t, b.api, n[role], value)
	}
	n["cc"], n["jwt"] = unique("foundry"), unique("netsuite")
	b.api.must(t, "PUT", "/api/v1/grants/"+n["cc"], map[string]any{"type": "client_credentials", "token_url": a.URL + "/oauth/token",
		"client_id": "flowd", "client_secret": map[string]string{"secret": n["client_secret"]}, "scope": "read", "auth_style": "body"}, nil, 201)
	b.api.must(t, "PUT", "/api/v1/grants/"+n["jwt"], map[string]any{"type": "jwt_assertion", "token_url": a.URL + "/services/rest/auth/oauth2/v1/token",
		"client_id": "ns-client", "private_key": map[string]string{"secret": n["private_key"]}, "kid": "cert-1", "alg": "ES256", "scope": "rest_webservices"}, nil, 201)
	return n
}

// secretsOf are every form of every credential the API knows, for assertNoSecret.
func (a *restAPI) secretsOf() []string {
	var forms []string
	for _, v := range []string{a.password, a.bearer, a.apiKey, a.clientSecret, a.ccToken, a.jwtToken, a.customToken} {
		forms = append(forms, secretForms(a.user, v)...)
	}
	return append(forms, strings.Split(a.keyPEM, "\n")[1]) // a line of the key itself
}

// TestRESTAuthMethods: each authentication method through the engine, with the
// credentials in stored secrets or obtained through grants: the API gets the
// right credential, echoes it, and it appears nowhere in flowd.
func TestRESTAuthMethods(t *testing.T) {
	a := newRESTAPI(t)
	each(t, func(t *testing.T, b *backend) {
		n := a.setUp(t, b)
		flow := unique("auth_methods")
		// The code names the secrets and grants; a call's "$role" picks one of them.
		pushFlow(t, b.api, flow, fmt.Sprintf(`function handler(system, inputs) {
  const secrets = {password: system.secret(%q), bearer: system.secret(%q), api_key: system.secret(%q),
    cc: system.grant(%q), jwt: system.grant(%q)};
  const call = Object.assign({connector_type: 'REST'}, inputs.call);
  const pick = (v) => typeof v === 'string' && v[0] === '$' ? secrets[v.slice(1)] : v;
  for (const k of ['password', 'token', 'api_key', 'grant']) { call[k] = pick(call[k]); }
  if (call.auth_json) { call.auth_json.password = pick(call.auth_json.password); }
  const c = this.connect(call);
  const out = c.get('output_value');
  this.log('answer', JSON.stringify(out), c.get('status'));
  return {json: out.json, execution_id: out.execution_id, child: c.get('id'), message: out.message};
}`, n["password"], n["bearer"], n["api_key"], n["cc"], n["jwt"]))
		ref := func(role string) string { return "$" + role }
		tests := []struct {
			name      string
			call      map[string]any
			redacted  string // what the echoed credential shows (in part: Basic shows the base64 of "user:" around it)
			grantReqs func() int32
		}{
			{"basic", map[string]any{"url": a.URL + "/basic", "authentication_method": "basic", "username": a.user, "password": ref("password")}, "[redacted]", nil},
			{"bearer", map[string]any{"url": a.URL + "/bearer", "authentication_method": "bearer", "token": ref("bearer")}, "Bearer [redacted]", nil},
			{"api_key header", map[string]any{"url": a.URL + "/key-header", "authentication_method": "api_key", "api_key": ref("api_key")}, "[redacted]", nil},
			{"api_key query", map[string]any{"url": a.URL + "/key-query", "authentication_method": "api_key", "api_key": ref("api_key"), "api_key_in": "query", "api_key_name": "apikey"}, "apikey=[redacted]", nil},
			{"custom", map[string]any{"url": a.URL + "/custom", "authentication_method": "custom", "auth_url": a.URL + "/login", "auth_headers": map[string]any{"X-Client": "flowd"},
				"auth_json": map[string]any{"username": a.user, "password": ref("password")}, "token_path": "data.token"}, "Bearer [redacted]", nil},
			{"oauth2 client_credentials", map[string]any{"url": a.URL + "/oauth2", "authentication_method": "oauth2", "grant": ref("cc")}, "Bearer [redacted]", a.ccRequests.Load},
			{"oauth2 jwt_assertion", map[string]any{"url": a.URL + "/jwt", "authentication_method": "oauth2", "grant": ref("jwt")}, "Bearer [redacted]", a.jwtRequests.Load},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var before int32
				if tt.grantReqs != nil {
					before = tt.grantReqs()
				}
				e := runFlow(t, b.api, flow, map[string]any{"call": tt.call})
				if e.Status != "ENDED_SUCCESS" {
					t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
				}
				j, _ := e.Outputs["json"].(map[string]any)
				if j["ok"] != true || !strings.Contains(fmt.Sprint(j["credential"]), tt.redacted) {
					t.Fatalf("outputs %v, want the credential shown as %s", e.Outputs, tt.redacted)
				}
				if e.Outputs["execution_id"] == nil || e.Outputs["execution_id"] != e.Outputs["child"] {
					t.Errorf("execution_id output %v, want the child's id %v", e.Outputs["execution_id"], e.Outputs["child"])
				}
				if tt.grantReqs != nil && tt.grantReqs()-before > 1 {
					t.Errorf("%d token requests for one call", tt.grantReqs()-before)
				}
				assertNoSecret(t, b, e.ID, a.secretsOf()...)
			})
		}
	})
}

// TestRESTLargeResponse: a 5 MB response is stored as a file instead of passing
// through the workflow history; the flow gets its name and size, can send it on
// as a multipart file part, and a body under the flow read limit is readable
// with system.file. dst stores a body under the name the flow chooses.
func TestRESTLargeResponse(t *testing.T) {
	big := make([]byte, 5<<20)
	for i := range big {
		big[i] = "abcdefghijklmnopqrstuvwxyz\n"[i%27]
	}
	sum := sha256.Sum256(big)
	var uploaded atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Type", "text/plain")
			w.Write(big)
		case "/medium": // over the outputs' limit, under a flow's file read limit
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"filler": %q}`, strings.Repeat("m", 900<<10))
		case "/small":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"report": [1, 2, 3]}`))
		case "/upload":
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			f, _, err := r.FormFile("file")
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			data, _ := io.ReadAll(f)
			s := sha256.Sum256(data)
			uploaded.Store(hex.EncodeToString(s[:]))
			fmt.Fprintf(w, `{"size": %d}`, len(data))
		}
	}))
	defer srv.Close()
	each(t, func(t *testing.T, b *backend) {
		flow := unique("large")
		dst := unique("report") + ".json"
		pushFlow(t, b.api, flow, `function handler(system, inputs) {
  const big = this.connect({connector_type: 'REST', url: inputs.url + '/big'}).get('output_value');
  const up = this.connect({connector_type: 'REST', url: inputs.url + '/upload',
    multipart: {'content-type': 'multipart/form-data', parts: [{name: 'file', file: big.body_file}]}}).get('output_value');
  let readBig = '';
  try { system.file(big.body_file).get_text_content(); } catch (e) { readBig = String(e); }
  const medium = this.connect({connector_type: 'REST', url: inputs.url + '/medium'}).get('output_value');
  const mediumJSON = JSON.parse(system.file(medium.body_file).get_text_content());
  const small = this.connect({connector_type: 'REST', url: inputs.url + '/small', dst: inputs.dst}).get('output_value');
  const report = JSON.parse(system.file(small.body_file).get_text_content()).report;
  return {big_file: big.body_file, big_size: big.size, has_text: 'text' in big, big_message: big.message, uploaded: up.json.size,
          read_big: readBig, medium_filler: mediumJSON.filler.length, small_file: small.body_file, report: report};
}`)
		e := runFlow(t, b.api, flow, map[string]any{"url": srv.URL, "dst": dst})
		if e.Status != "ENDED_SUCCESS" {
			t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
		}
		o := e.Outputs
		file, _ := o["big_file"].(string)
		if !strings.HasPrefix(file, "response-") || o["big_size"] != float64(len(big)) || o["has_text"] != false || o["uploaded"] != float64(len(big)) {
			t.Fatalf("outputs %v", o)
		}
		if !strings.Contains(fmt.Sprint(o["big_message"]), "stored file \""+file+"\"") {
			t.Errorf("message %v does not name the file", o["big_message"])
		}
		if got, _ := uploaded.Load().(string); got != hex.EncodeToString(sum[:]) {
			t.Errorf("uploaded file differs from the response (sha256 %s)", got)
		}
		if !strings.Contains(fmt.Sprint(o["read_big"]), "too large for a flow to read") {
			t.Errorf("reading the 5 MB file: %v", o["read_big"])
		}
		if o["medium_filler"] != float64(900<<10) || o["small_file"] != dst || fmt.Sprint(o["report"]) != "[1 2 3]" {
			t.Errorf("medium or dst: %v", o)
		}
		var f struct {
			Size   int    `json:"size"`
			Base64 string `json:"base64"`
		}
		b.api.must(t, "GET", "/api/v1/files/"+file, nil, &f, 200)
		if data, _ := base64.StdEncoding.DecodeString(f.Base64); f.Size != len(big) || sha256.Sum256(data) != sum {
			t.Errorf("GET /api/v1/files/%s: size %d", file, f.Size)
		}
		if h := history(t, b, e.ID); len(h) > 2<<20 {
			t.Errorf("the workflow history is %d bytes", len(h))
		}
	})
}

// pushExampleUnique saves examples/<file>.js as it is under a unique name.
func pushExampleUnique(t *testing.T, b *backend, file string) string {
	t.Helper()
	src, err := os.ReadFile("../examples/" + file + ".js")
	if err != nil {
		t.Fatal(err)
	}
	name := unique(file)
	pushFlow(t, b.api, name, string(src))
	return name
}

// TestRESTExamples runs the examples of the seed patterns as they are.
func TestRESTExamples(t *testing.T) {
	a := newRESTAPI(t)
	var (
		mu       sync.Mutex
		requests []string // Content-Type and body of each multipart request
	)
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		requests = append(requests, r.Header.Get("Content-Type")+"\n"+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	defer capture.Close()
	each(t, func(t *testing.T, b *backend) {
		n := a.setUp(t, b)
		t.Run("oauth_pages", func(t *testing.T) {
			// The example names its grant in its code and reads its URL from a setting.
			b.api.must(t, "PUT", "/api/v1/grants/resource_api", map[string]any{"type": "client_credentials", "token_url": a.URL + "/oauth/token",
				"client_id": "flowd", "client_secret": map[string]string{"secret": n["client_secret"]}, "scope": "read", "auth_style": "body"}, nil, 200, 201)
			b.api.must(t, "PUT", "/api/v1/settings/resource_api", map[string]any{"value": map[string]any{"url": a.URL + "/api/v1/items"}}, nil, 200)
			before := a.ccRequests.Load()
			flow := pushExampleUnique(t, b, "oauth_pages")
			for range 2 {
				e := runFlow(t, b.api, flow, nil)
				if e.Status != "ENDED_SUCCESS" || e.Outputs["count"] != float64(5) || e.Outputs["pages"] != float64(3) {
					t.Fatalf("ended %s %s: %v", e.Status, e.StatusMessage, e.Outputs)
				}
				assertNoSecret(t, b, e.ID, a.secretsOf()...)
			}
			if got := a.ccRequests.Load() - before; got > 1 {
				t.Errorf("%d token requests for 6 pages in 2 executions, want at most 1", got)
			}
		})
		t.Run("netsuite_jwt", func(t *testing.T) {
			b.api.must(t, "PUT", "/api/v1/grants/netsuite", map[string]any{"type": "jwt_assertion", "token_url": a.URL + "/services/rest/auth/oauth2/v1/token",
				"client_id": "ns-client", "private_key": map[string]string{"secret": n["private_key"]}, "kid": "cert-1", "alg": "ES256", "scope": "rest_webservices"}, nil, 200, 201)
			b.api.must(t, "PUT", "/api/v1/settings/netsuite", map[string]any{"value": map[string]any{"url": a.URL}}, nil, 200)
			flow := pushExampleUnique(t, b, "netsuite_jwt")
			e := runFlow(t, b.api, flow, map[string]any{"accounts": []map[string]string{{"id": "42", "name": "Cash"}, {"id": "43", "name": "Bank"}}})
			if e.Status != "ENDED_SUCCESS" || fmt.Sprint(e.Outputs["results"]) != "[map[account_id:42 status_code:204] map[account_id:43 status_code:204]]" {
				t.Fatalf("ended %s %s: %v", e.Status, e.StatusMessage, e.Outputs)
			}
			assertNoSecret(t, b, e.ID, a.secretsOf()...)
		})
		t.Run("custom_auth", func(t *testing.T) {
			flow := pushExampleUnique(t, b, "custom_auth")
			// The example names its secret and reads its URLs from a setting.
			putSecret(t, b.api, "feed_password", a.password)
			b.api.must(t, "PUT", "/api/v1/settings/feed_api", map[string]any{"value": map[string]any{"auth_url": a.URL + "/login", "url": a.URL + "/get-data", "username": a.user}}, nil, 200)
			e := runFlow(t, b.api, flow, nil)
			if e.Status != "ENDED_SUCCESS" || e.Outputs["records"] != float64(3) {
				t.Fatalf("ended %s %s: %v", e.Status, e.StatusMessage, e.Outputs)
			}
			assertNoSecret(t, b, e.ID, a.secretsOf()...)
		})
		t.Run("multipart_upload", func(t *testing.T) {
			mu.Lock()
			requests = nil
			mu.Unlock()
			flow := pushExampleUnique(t, b, "multipart_upload")
			report := "quarterly numbers\n"
			e := runFlow(t, b.api, flow, map[string]any{"url": capture.URL, "report": report})
			if e.Status != "ENDED_SUCCESS" || e.Outputs["basic"] != float64(200) || e.Outputs["full"] != float64(200) {
				t.Fatalf("ended %s %s: %v", e.Status, e.StatusMessage, e.Outputs)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(requests) != 2 {
				t.Fatalf("%d requests, want 2", len(requests))
			}
			basicType, _, _ := strings.Cut(requests[0], "\n")
			boundary := strings.TrimPrefix(basicType, "multipart/mixed; boundary=")
			want := []string{
				"multipart/mixed; boundary=" + boundary + "\n" +
					"--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=\"string-field\"\r\nContent-Length: 11\r\n\r\nspam & eggs\r\n" +
					"--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=\"file\"; filename=\"report.txt\"\r\nContent-Length: 18\r\n\r\n" + report + "\r\n--" + boundary + "--\r\n",
				"application/my-custom-content-type; boundary=my-custom-boundary\n" +
					"--my-custom-boundary\r\nContent-Type: text/html\r\n\r\n<pre>spam & eggs</pre>\r\n" +
					"--my-custom-boundary\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; filename=\"report.txt\"\r\nContent-Length: 18\r\n\r\n" + report + "\r\n--my-custom-boundary--\r\n",
			}
			for i := range want {
				if requests[i] != want[i] {
					t.Errorf("request %d:\n%q\nwant\n%q", i+1, requests[i], want[i])
				}
			}
		})
	})
}
