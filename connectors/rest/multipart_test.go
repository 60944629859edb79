package rest_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

// captured is the last request a capture server got.
type captured struct {
	mu     sync.Mutex
	header http.Header
	body   string
}

func (c *captured) get() (http.Header, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.header, c.body
}

// MustCapture starts a server that records each request and answers 200 {}.
func MustCapture(tb testing.TB) (string, *captured) {
	c := &captured{}
	url := MustServer(tb, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.header, c.body = r.Header.Clone(), string(b)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	})
	return url, c
}

func TestMultipartAsSeed(t *testing.T) {
	report := strings.Repeat("report line\n", 3)
	files := &memFiles{files: map[string][]byte{"report.txt": []byte(report)}}
	tests := []struct {
		name     string
		mp       map[string]any
		wantType string // regexp
		wantBody string // with B for the boundary
	}{
		{"Basic", map[string]any{"parts": []any{
			map[string]any{"name": "string-field", "value": "spam & eggs"},
			map[string]any{"name": "file", "file": "report.txt"},
		}}, `^multipart/mixed; boundary=([0-9a-f]{32})$`,
			"--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=\"string-field\"\r\nContent-Length: 11\r\n\r\nspam & eggs\r\n" +
				"--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=\"file\"; filename=\"report.txt\"\r\nContent-Length: 36\r\n\r\n" + report + "\r\n--B--\r\n"},
		{"Full", map[string]any{"content-type": "application/my-custom-content-type", "boundary": "my-custom-boundary", "parts": []any{
			map[string]any{"name": "string-field", "value": "<pre>spam & eggs</pre>", "content-type": "text/html", "content-disposition": false, "content-length": false},
			map[string]any{"name": "file", "file": "report.txt", "content-disposition": `form-data; filename="report.txt"`},
		}}, `^application/my-custom-content-type; boundary=(my-custom-boundary)$`,
			"--B\r\nContent-Type: text/html\r\n\r\n<pre>spam & eggs</pre>\r\n" +
				"--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; filename=\"report.txt\"\r\nContent-Length: 36\r\n\r\n" + report + "\r\n--B--\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, got := MustCapture(t)
			MustCall(t, &rest.Connector{Files: files}, map[string]any{"url": url, "multipart": tt.mp})
			h, body := got.get()
			m := regexp.MustCompile(tt.wantType).FindStringSubmatch(h.Get("Content-Type"))
			if m == nil {
				t.Fatalf("Content-Type = %q, want %s", h.Get("Content-Type"), tt.wantType)
			}
			if want := strings.ReplaceAll(tt.wantBody, "B", m[1]); body != want {
				t.Errorf("body =\n%q\nwant\n%q", body, want)
			}
		})
	}
}

func TestMultipartFormDataHTTPBin(t *testing.T) {
	base := MustHTTPBin(t)
	files := &memFiles{files: map[string][]byte{"a.bin": {0, 1, 2}}}
	out := MustCall(t, &rest.Connector{Files: files}, map[string]any{"url": base + "/post", "multipart": map[string]any{
		"content-type": "multipart/form-data",
		"parts": []any{
			map[string]any{"name": "field", "value": "v"},
			map[string]any{"name": "upload", "file": "a.bin"},
		},
	}})
	j := JSONOut(t, out)
	if got := j["form"].(map[string]any)["field"].([]any)[0]; got != "v" {
		t.Errorf("form.field = %v, want v", got)
	}
	if _, ok := j["files"].(map[string]any)["upload"]; !ok {
		t.Errorf("files = %v, want upload", j["files"])
	}
}

func TestMultipartErrors(t *testing.T) {
	tests := []struct {
		name  string
		files rest.FileStore
		mp    any
		want  string
	}{
		{"ErrNotObject", nil, "x", "must be an object"},
		{"ErrNoParts", nil, map[string]any{}, "non-empty list parts"},
		{"ErrNoName", nil, map[string]any{"parts": []any{map[string]any{"value": "x"}}}, "needs a name"},
		{"ErrValueAndFile", nil, map[string]any{"parts": []any{map[string]any{"name": "a", "value": "x", "file": "f"}}}, "exactly one of value"},
		{"ErrTrueHeader", nil, map[string]any{"parts": []any{map[string]any{"name": "a", "value": "x", "content-type": true}}}, "not true"},
		{"ErrUnknownKey", nil, map[string]any{"parts": []any{map[string]any{"name": "a", "value": "x", "filename": "y"}}}, `unknown key "filename"`},
		{"ErrBoundary", nil, map[string]any{"boundary": "a;b", "parts": []any{map[string]any{"name": "a", "value": "x"}}}, "boundary"},
		{"ErrNoFiles", nil, map[string]any{"parts": []any{map[string]any{"name": "a", "file": "f"}}}, "stored files are not available"},
		{"ErrMissingFile", &memFiles{}, map[string]any{"parts": []any{map[string]any{"name": "a", "file": "f"}}}, `cannot read stored file "f"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CallErr(t, &rest.Connector{Files: tt.files}, map[string]any{"url": "http://127.0.0.1:1", "multipart": tt.mp})
			WantInputError(t, err, tt.want)
		})
	}
}
