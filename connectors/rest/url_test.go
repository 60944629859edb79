package rest_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

func TestURL(t *testing.T) {
	base := MustHTTPBin(t)
	u, _ := url.Parse(base)
	host, port := u.Hostname(), u.Port()
	tests := []struct {
		name     string
		in       map[string]any
		wantURL  string // path and query the server saw
		wantArgs map[string]any
	}{
		{"URL", map[string]any{"url": base + "/anything/a?x=1"}, "/anything/a?x=1", map[string]any{"x": []any{"1"}}},
		{"Parts", map[string]any{"scheme": "http", "hostname": host, "port": port, "base_path": "/anything/", "path": "/some/path/"}, "/anything/some/path", nil},
		{"PartsPortNumber", map[string]any{"scheme": "http", "hostname": host, "port": mustAtof(port), "base_path": "anything"}, "/anything", nil},
		{"PartsNoBasePath", map[string]any{"scheme": "http", "hostname": host, "port": port, "path": "anything/x"}, "/anything/x", nil},
		{"URLWins", map[string]any{"url": base + "/anything/won", "hostname": "example.invalid", "path": "lost"}, "/anything/won", nil},
		{"Params", map[string]any{"url": base + "/anything", "params": map[string]any{"q": "a b&c", "n": 3.0, "ok": true}},
			"/anything?n=3&ok=true&q=a+b%26c", map[string]any{"q": []any{"a b&c"}, "n": []any{"3"}, "ok": []any{"true"}}},
		{"ParamsListRepeats", map[string]any{"url": base + "/anything?x=0", "params": map[string]any{"id": []any{"1", 2.0}}},
			"/anything?x=0&id=1&id=2", map[string]any{"x": []any{"0"}, "id": []any{"1", "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := MustCall(t, &rest.Connector{}, tt.in)
			j := JSONOut(t, out)
			got, _ := url.Parse(j["url"].(string))
			if gotPath := got.RequestURI(); gotPath != tt.wantURL {
				t.Errorf("server saw %q, want %q", gotPath, tt.wantURL)
			}
			if tt.wantArgs != nil && !reflect.DeepEqual(j["args"], tt.wantArgs) {
				t.Errorf("args = %v, want %v", j["args"], tt.wantArgs)
			}
		})
	}
}

func TestURLErrors(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want string
	}{
		{"ErrNoURL", map[string]any{}, "set input url"},
		{"ErrScheme", map[string]any{"url": "ftp://example.com/x"}, "must start with http:// or https://"},
		{"ErrNoHost", map[string]any{"url": "/just/a/path"}, "must start with http:// or https://"},
		{"ErrHostnameWithPath", map[string]any{"hostname": "example.com/x"}, "host name only"},
		{"ErrPort", map[string]any{"hostname": "example.com", "port": 70000.0}, "port must be a number from 1 to 65535"},
		{"ErrPartsScheme", map[string]any{"hostname": "example.com", "scheme": "ftp"}, "scheme must be http or https"},
		{"ErrParamsNested", map[string]any{"url": "http://example.com", "params": map[string]any{"a": map[string]any{}}}, "JSON.stringify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CallErr(t, &rest.Connector{}, tt.in)
			WantInputError(t, err, tt.want)
		})
	}
}

func mustAtof(s string) float64 {
	var f float64
	for _, r := range strings.TrimSpace(s) {
		f = f*10 + float64(r-'0')
	}
	return f
}
