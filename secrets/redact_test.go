package secrets_test

import (
	"encoding/base64"
	"encoding/json"
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
		{"Plain", "password is " + pw + ".", "password is [redacted:db]."},
		{"Query", "https://x/?p=" + url.QueryEscape(pw), "https://x/?p=[redacted:db]"},
		{"Path", "https://x/" + url.PathEscape(pw), "https://x/[redacted:db]"},
		{"Base64", "b64 " + base64.StdEncoding.EncodeToString([]byte(pw)), "b64 [redacted:db]"},
		{"Base64URL", base64.RawURLEncoding.EncodeToString([]byte(pw)), "[redacted:db]"},
		{"Twice", "abc123tokenvalue/abc123tokenvalue", "[redacted:tok]/[redacted:tok]"},
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

// A Basic auth header is base64 of "user:password": the password sits at some
// offset inside it, and its characters there must go.
func TestRedactorBase64Inside(t *testing.T) {
	const pw = "correct-horse-battery"
	r := secrets.NewRedactor(map[string]string{"pw": pw})
	for _, user := range []string{"", "a", "ab", "abc", "alice"} {
		header := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
		got := r.String(header)
		if !strings.Contains(got, "[redacted:pw]") {
			t.Fatalf("user %q: %q not redacted", user, got)
		}
		// What is left is the user's part and at most a few bits of the password.
		rest := strings.ReplaceAll(strings.TrimPrefix(got, "Basic "), "[redacted:pw]", "")
		if len(rest) > len(base64.StdEncoding.EncodeToString([]byte(user+":")))+4 {
			t.Fatalf("user %q: too much left: %q", user, got)
		}
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
	}
	out := r.Map(in)
	raw, _ := json.Marshal(out)
	s := string(raw)
	if strings.Contains(s, "k3y") || strings.Contains(s, "987654") {
		t.Fatalf("not redacted: %s", s)
	}
	if !strings.Contains(s, `"x-api-key":"[redacted:key]"`) || !strings.Contains(s, `"pin":"[redacted:pin]"`) || !strings.Contains(s, `"n":42`) {
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
	if got := string(r.JSON(json.RawMessage("not json k3y-<&>\"value"))); got != "not json [redacted:key]" {
		t.Fatalf("JSON of text = %s", got)
	}
}

func TestRedactorNil(t *testing.T) {
	var r *secrets.Redactor
	if secrets.NewRedactor(map[string]string{"e": ""}) != nil {
		t.Fatal("a redactor of empty values is not nil")
	}
	m := map[string]any{"a": "b"}
	if r.String("x") != "x" || r.Map(m)["a"] != "b" || string(r.JSON(json.RawMessage(`{}`))) != "{}" || r.Names() != nil {
		t.Fatal("nil redactor changed something")
	}
}
