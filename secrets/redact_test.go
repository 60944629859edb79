package secrets_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/flowd/flowd/secrets"
)

func TestRedactorString(t *testing.T) {
	const pw = "p@ss w/rd+ü"
	r := secrets.NewRedactor(map[string]string{"db": pw, "empty": "", "tok": "abc123tokenvalue"})
	tests := []struct {
		name, in, want string
	}{
		{"Plain", "password is " + pw + ".", "password is [redacted]."},
		{"Query", "https://x/?p=" + url.QueryEscape(pw), "https://x/?p=[redacted]"},
		{"Path", "https://x/" + url.PathEscape(pw), "https://x/[redacted]"},
		{"URLPath", (&url.URL{Scheme: "https", Host: "x", Path: "/a/" + pw}).String(), "https://x/a/[redacted]"},
		{"Base64", "b64 " + base64.StdEncoding.EncodeToString([]byte(pw)), "b64 [redacted]"},
		{"Base64URL", base64.RawURLEncoding.EncodeToString([]byte(pw)), "[redacted]"},
		{"Twice", "abc123tokenvalue/abc123tokenvalue", "[redacted]/[redacted]"},
		{"Untouched", "nothing to hide", "nothing to hide"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Fatalf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := r.Names(); strings.Join(got, ",") != "db,tok" {
		t.Fatalf("Names = %v", got)
	}
}

// TestRedactorForms: a secret with every character that some encoding changes
// is redacted in each form flowd writes or passes on, and the marker never
// names the secret.
func TestRedactorForms(t *testing.T) {
	const name, pw = "billing_password", "sp<ec>&\"\\ /;,+?#%ü😀\n\tend"
	r := secrets.NewRedactor(map[string]string{name: pw})
	goJSON, _ := json.Marshal(pw)
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]string{"v": pw})
	u := &url.URL{Scheme: "https", Host: "api.example.com", Path: "/v1/" + pw, RawQuery: url.Values{"sig": {pw}}.Encode()}
	quotedURL, _ := json.Marshal(u.String()) // a URL inside a JSON body
	tests := []struct{ name, in string }{
		{"Raw", "value " + pw},
		{"GoJSON", string(goJSON)},
		{"PlainJSON", plain.String()},
		{"PHPJSON", strings.ReplaceAll(plain.String(), "/", `\/`)},
		{"PythonJSON", strings.NewReplacer("ü", `\u00fc`, "😀", `\ud83d\ude00`).Replace(plain.String())},
		{"GoQuoted", fmt.Sprintf("Get %q: refused", pw)},
		{"URL", u.String()},
		{"URLError", fmt.Sprintf("Get %q: dial tcp: refused", u.String())},
		{"URLInJSON", string(quotedURL)},
		{"QueryEscape", url.QueryEscape(pw)},
		{"PathEscape", url.PathEscape(pw)},
		{"Base64", base64.StdEncoding.EncodeToString([]byte(pw))},
		{"Base64URLRaw", base64.RawURLEncoding.EncodeToString([]byte(pw))},
		{"BasicAuth", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+pw))},
		{"Base64Inside", base64.StdEncoding.EncodeToString(append([]byte("\x00\x01binary"), pw+"\xff\xfe"...))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.String(tt.in)
			if got == tt.in || !strings.Contains(got, secrets.Marker) {
				t.Fatalf("String(%q) = %q, want it redacted", tt.in, got)
			}
			for _, leak := range []string{"sp<ec", `sp\u003cec`, "sp%3Cec", "end", base64.StdEncoding.EncodeToString([]byte(pw))[:12], name} {
				if strings.Contains(got, leak) {
					t.Errorf("String(%q) = %q, still holds %q", tt.in, got, leak)
				}
			}
		})
	}
}

// A Basic auth header is base64 of "user:password": the password sits at some
// offset inside it, and its characters there must go.
func TestRedactorBase64Inside(t *testing.T) {
	const pw = "correct-horse-battery"
	r := secrets.NewRedactor(map[string]string{"pw": pw})
	for _, user := range []string{"", "a", "ab", "abc", "alice"} {
		header := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
		got := r.String(header)
		if !strings.Contains(got, "[redacted]") {
			t.Fatalf("user %q: %q not redacted", user, got)
		}
		// What is left is the user's part and at most a few bits of the password.
		rest := strings.ReplaceAll(strings.TrimPrefix(got, "Basic "), "[redacted]", "")
		if len(rest) > len(base64.StdEncoding.EncodeToString([]byte(user+":")))+4 {
			t.Fatalf("user %q: too much left: %q", user, got)
		}
	}
}

func TestRedactorBytes(t *testing.T) {
	const pw = "s3cr3t-<&>-value"
	r := secrets.NewRedactor(map[string]string{"pw": pw})
	bin := append([]byte{0x89, 'P', 'N', 'G', 0, 0xff}, pw...)
	bin = append(bin, 0, 0xfe)
	got := r.Bytes(bin)
	if bytes.Contains(got, []byte(pw)) || !bytes.Contains(got, []byte(secrets.Marker)) || !bytes.HasPrefix(got, []byte{0x89, 'P', 'N', 'G', 0, 0xff}) {
		t.Fatalf("Bytes = %q", got)
	}
	clean := []byte{0, 1, 2, 0xff}
	if got := r.Bytes(clean); &got[0] != &clean[0] {
		t.Fatal("Bytes copied data that holds no secret")
	}
}

func TestRedactorValue(t *testing.T) {
	r := secrets.NewRedactor(map[string]string{"key": "k3y-<&>\"value", "pin": "987654"})
	in := map[string]any{
		"headers":        map[string]any{"x-api-key": "k3y-<&>\"value"},
		"log":            []any{map[string]any{"message": "sent k3y-<&>\"value", "try": 1.0}},
		"k3y-<&>\"value": true,
		"pin":            987654.0,
		"n":              42.0,
		"text":           `{"echo":"k3y-\u003c\u0026\u003e\"value"}`,
	}
	out := r.Map(in)
	raw, _ := json.Marshal(out)
	s := string(raw)
	if strings.Contains(s, "k3y") || strings.Contains(s, "987654") {
		t.Fatalf("not redacted: %s", s)
	}
	if !strings.Contains(s, `"x-api-key":"[redacted]"`) || !strings.Contains(s, `"pin":"[redacted]"`) || !strings.Contains(s, `"n":42`) {
		t.Fatalf("redacted wrongly: %s", s)
	}
	if in["headers"].(map[string]any)["x-api-key"] != "k3y-<&>\"value" {
		t.Fatal("Value changed its input")
	}

	// JSON escapes <, > and & and the quote: redact the decoded text.
	text, _ := json.Marshal(in)
	if got := string(r.JSON(text)); strings.Contains(got, "k3y") || !strings.Contains(got, `"n":42`) {
		t.Fatalf("JSON = %s", got)
	}
	if got := string(r.JSON(json.RawMessage("not json k3y-<&>\"value"))); got != "not json [redacted]" {
		t.Fatalf("JSON of text = %s", got)
	}
}

func TestRedactorNil(t *testing.T) {
	var r *secrets.Redactor
	if secrets.NewRedactor(map[string]string{"e": ""}) != nil {
		t.Fatal("a redactor of empty values is not nil")
	}
	m := map[string]any{"a": "b"}
	if r.String("x") != "x" || r.Map(m)["a"] != "b" || string(r.JSON(json.RawMessage(`{}`))) != "{}" || r.Names() != nil || string(r.Bytes([]byte("x"))) != "x" {
		t.Fatal("nil redactor changed something")
	}
}
