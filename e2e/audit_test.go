package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Regression tests of the audit of issues 10 and 11: gaps an attacker found after the
// fixes landed.

// TestAuditSignInLimitSurvivesWebhookFlood: an address that used up its failed
// sign-ins cannot reset its count by calling thousands of made-up webhook names (each
// a new rate-limit entry) until the limiter forgets its sign-in failures: a correct
// secret still gets 429 until the minute has passed.
func TestAuditSignInLimitSurvivesWebhookFlood(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		addr := newLoopback()
		attacker := from(addr)
		got := statuses(11, func(int) int { return signIn(t, attacker, b.app.URL, "wrong-secret", nil) })
		if got[9] != http.StatusUnauthorized || got[10] != http.StatusTooManyRequests {
			t.Fatalf("failed sign-ins from %s: %v, want 10 × 401 then 429", addr, got)
		}
		// Keep-alive connections from the same address, so that the flood is quick.
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 10 * time.Second}
		flood := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}}
		for i := range 10_050 {
			resp, err := flood.Get(fmt.Sprintf("%s/api/v1/webhooks/flood_%d/call", b.app.URL, i))
			if err != nil {
				t.Fatalf("webhook call %d: %v", i, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("webhook call %d for a made-up name: HTTP %d, want 404", i, resp.StatusCode)
			}
		}
		if st := signIn(t, attacker, b.app.URL, adminSecret, nil); st != http.StatusTooManyRequests {
			t.Fatalf("sign-in with the right secret after 10,050 made-up webhook calls: HTTP %d, want 429 (the failed sign-ins were forgotten)", st)
		}
		if st := signIn(t, from(newLoopback()), b.app.URL, adminSecret, nil); st != http.StatusOK {
			t.Fatalf("sign-in from another address: HTTP %d, want 200", st)
		}
	})
}

// escapedForms are the ways APIs commonly quote a text that flowd's first redaction
// did not know: .NET's default JSON (upper-case \uXXXX for < > & ' " + and non-ASCII),
// Go's JSON with its escapes in upper case (as Java writes them), HTML escaping (Go's,
// and &quot; &#x27; as Python and PHP write them) and percent-encoding with lower-case
// hex digits.
func escapedForms(v string) map[string]string {
	var dotnet strings.Builder
	for _, r := range v {
		switch {
		case r == '\\':
			dotnet.WriteString(`\\`)
		case r > 0x7e || strings.ContainsRune("<>&'\"+`", r):
			fmt.Fprintf(&dotnet, `\u%04X`, r)
		default:
			dotnet.WriteRune(r)
		}
	}
	goJSON, _ := json.Marshal(v)
	upper := regexp.MustCompile(`\\u[0-9a-f]{4}`).ReplaceAllStringFunc(string(goJSON), func(m string) string { return `\u` + strings.ToUpper(m[2:]) })
	lower := regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(v), strings.ToLower)
	return map[string]string{
		"dotnet-json": dotnet.String(),
		"upper-json":  upper[1 : len(upper)-1],
		"go-html":     html.EscapeString(v),
		"python-html": strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;").Replace(v),
		"lower-query": lower,
	}
}

// TestAuditRedactionOfEscapedForms: an API that quotes the secret it was sent in each
// of escapedForms leaves it in no form in what a viewer reads: the execution, its
// children and logs, and the file a connect stored with dst.
func TestAuditRedactionOfEscapedForms(t *testing.T) {
	const value = `Ab<c>&d"e'f\g+h` + "ü-Z9"
	forms := escapedForms(value)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "you sent: %s", escapedForms(r.Header.Get("X-S"))[r.URL.Query().Get("form")])
	}))
	t.Cleanup(srv.Close)
	each(t, func(t *testing.T, b *backend) {
		secret := unique("audit_escaped")
		b.api.must(t, "PUT", "/api/v1/secrets/"+secret, map[string]string{"value": value}, nil, 200, 201)
		flow := unique("audit_escaped")
		pushFlow(t, b.api, flow, fmt.Sprintf(`function handler(system, inputs) {
  const c = this.connect({connector_type: 'REST', url: inputs.url, headers: {'X-S': system.secret('%s')}, dst: inputs.dst});
  this.log('answer', JSON.stringify(c.get('output_value')));
  return {answer: c.get('output_value')};
}`, secret))
		viewer := mustViewer(t, b)
		for name, form := range forms {
			if !strings.Contains(form, "\\u") && !strings.Contains(form, "&") && !strings.Contains(form, "%") {
				t.Fatalf("form %s = %q does not escape anything: the test secret is wrong", name, form)
			}
			u := srv.URL + "/?form=" + url.QueryEscape(name)
			inline := runFlow(t, b.api, flow, map[string]any{"url": u})
			dst := unique("audit_escaped_file")
			stored := runFlow(t, b.api, flow, map[string]any{"url": u, "dst": dst})
			for _, e := range []execution{inline, stored} {
				if e.Status != "ENDED_SUCCESS" {
					t.Fatalf("form %s: execution %s ended %s: %s", name, e.ID, e.Status, e.StatusMessage)
				}
			}
			var file struct{ Base64 string }
			viewer.must(t, "GET", "/api/v1/files/"+dst, nil, &file, 200)
			content, err := base64.StdEncoding.DecodeString(file.Base64)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(content), "you sent: ") {
				t.Fatalf("form %s: stored file %q is not the API's answer", name, content)
			}
			read := map[string]string{"stored file": string(content)}
			for _, id := range []string{inline.ID, stored.ID} {
				for _, path := range []string{"", "/children", "/logs"} {
					var v any
					viewer.must(t, "GET", "/api/v1/executions/"+id+path, nil, &v, 200)
					text, _ := json.Marshal(v)
					var decoded string // the JSON's strings as a viewer's program reads them
					collectStrings(v, &decoded)
					read["execution "+id+path] = string(text) + "\n" + decoded
				}
			}
			for where, text := range read {
				for _, leak := range []string{value, form} {
					if strings.Contains(text, leak) {
						t.Errorf("form %s: %s holds %q: %s", name, where, leak, text)
					}
				}
			}
		}
	})
}

// collectStrings appends every string (and map key) in v, a decoded JSON value, to out.
func collectStrings(v any, out *string) {
	switch v := v.(type) {
	case string:
		*out += v + "\n"
	case []any:
		for _, e := range v {
			collectStrings(e, out)
		}
	case map[string]any:
		for k, e := range v {
			*out += k + "\n"
			collectStrings(e, out)
		}
	}
}

// TestAuditSavedConnectorKeepsCertificateChecks: a call of a saved connector that
// sends a stored password, with no domains, may not turn off certificate checks or
// bring its own certificate authority (a flow may pass its runner's inputs on), just as
// it may not change the URL: the call ends with an error naming the input, and nothing
// is sent. The same overrides on a connector without credentials are fine.
func TestAuditSavedConnectorKeepsCertificateChecks(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprint(w, `{"ok": true}`)
	}))
	t.Cleanup(srv.Close)
	each(t, func(t *testing.T, b *backend) {
		secret := unique("audit_tls")
		b.api.must(t, "PUT", "/api/v1/secrets/"+secret, map[string]string{"value": "tls-password-0123456789"}, nil, 200, 201)
		withCreds, plain := unique("audit_tls_creds"), unique("audit_tls_plain")
		b.api.must(t, "PUT", "/api/v1/connectors/"+withCreds, map[string]any{"connector_type": "REST",
			"inputs": map[string]any{"url": srv.URL + "/creds", "authentication_method": "basic", "username": "u", "password": map[string]string{"secret": secret}}}, nil, 200, 201)
		b.api.must(t, "PUT", "/api/v1/connectors/"+plain, map[string]any{"connector_type": "REST", "inputs": map[string]any{"url": srv.URL + "/plain"}}, nil, 200, 201)
		flow := unique("audit_tls")
		pushFlow(t, b.api, flow, `function handler(system, inputs) {
  return {status: this.connect(inputs.connector, inputs.over).get('status')};
}`)
		pem := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
		for input, value := range map[string]any{"verify_ssl": false, "cacert": pem} {
			before := calls.Load()
			e := runFlow(t, b.api, flow, map[string]any{"connector": withCreds, "over": map[string]any{input: value}})
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "may not change "+input) {
				t.Errorf("%s overridden on a connector with a stored password: %s %q, want ENDED_ERROR saying it may not change %s", input, e.Status, e.StatusMessage, input)
			}
			if n := calls.Load() - before; n != 0 {
				t.Errorf("%s overridden on a connector with a stored password: %d requests sent, want none", input, n)
			}
		}
		if e := runFlow(t, b.api, flow, map[string]any{"connector": plain, "over": map[string]any{"verify_ssl": false}}); e.Status != "ENDED_SUCCESS" {
			t.Errorf("verify_ssl overridden on a connector without credentials: %s %q, want ENDED_SUCCESS", e.Status, e.StatusMessage)
		}
	})
}
