package rest_test

import (
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

func TestBody(t *testing.T) {
	base := MustHTTPBin(t)
	tests := []struct {
		name       string
		in         map[string]any
		wantMethod string
		wantType   string
		check      func(t *testing.T, j map[string]any)
	}{
		{"JSON", map[string]any{"json": map[string]any{"a": 1.0, "b": []any{"x"}}}, "POST", "application/json", func(t *testing.T, j map[string]any) {
			if want := map[string]any{"a": 1, "b": []any{"x"}}; !reflect.DeepEqual(j["json"], want) {
				t.Errorf("json = %#v, want %#v", j["json"], want)
			}
		}},
		{"DataAlias", map[string]any{"data": []any{1.0}, "method": "PUT"}, "PUT", "application/json", func(t *testing.T, j map[string]any) {
			if want := []any{1}; !reflect.DeepEqual(j["json"], want) {
				t.Errorf("json = %#v, want %#v", j["json"], want)
			}
		}},
		{"DataLogsDeprecation", map[string]any{"data": map[string]any{}}, "POST", "application/json", nil},
		{"JSONNullIsNoBody", map[string]any{"json": nil}, "GET", "", func(t *testing.T, j map[string]any) {
		}},
		{"JSONWithDELETE", map[string]any{"json": "x", "method": "delete"}, "DELETE", "application/json", nil},
		{"Text", map[string]any{"text": "hello ✓", "method": "PATCH"}, "PATCH", "text/plain; charset=utf-8", func(t *testing.T, j map[string]any) {
			if j["data"] != "hello ✓" {
				t.Errorf("data = %v", j["data"])
			}
		}},
		{"TextOwnContentType", map[string]any{"text": "<a/>", "headers": map[string]any{"Content-Type": "application/xml"}}, "POST", "application/xml", nil},
		{"URLEncoded", map[string]any{"urlencoded": map[string]any{"a": "1 2", "b": []any{"x", "y"}}}, "POST", "application/x-www-form-urlencoded", func(t *testing.T, j map[string]any) {
			if want := map[string]any{"a": []any{"1 2"}, "b": []any{"x", "y"}}; !reflect.DeepEqual(j["form"], want) {
				t.Errorf("form = %v, want %v", j["form"], want)
			}
		}},
		{"NoBodyGET", map[string]any{}, "GET", "", nil},
		{"HeadersAndCookies", map[string]any{"headers": map[string]any{"X-One": "1", "X-Num": 2.0}, "cookies": map[string]any{"sid": "abc", "theme": "dark"}}, "GET", "", func(t *testing.T, j map[string]any) {
			h := j["headers"].(map[string]any)
			for k, want := range map[string]string{"X-One": "1", "X-Num": "2", "Cookie": "sid=abc; theme=dark"} {
				if got := h[k].([]any)[0]; got != want {
					t.Errorf("header %s = %v, want %v", k, got, want)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := map[string]any{"url": base + "/anything"}
			for k, v := range tt.in {
				in[k] = v
			}
			j := JSONOut(t, MustCall(t, &rest.Connector{}, in))
			if j["method"] != tt.wantMethod {
				t.Errorf("method = %v, want %v", j["method"], tt.wantMethod)
			}
			var gotType any = ""
			if ct, ok := j["headers"].(map[string]any)["Content-Type"]; ok {
				gotType = ct.([]any)[0]
			}
			if gotType != tt.wantType {
				t.Errorf("Content-Type = %v, want %v", gotType, tt.wantType)
			}
			if tt.check != nil {
				tt.check(t, j)
			}
		})
	}
}

func TestAnyMethod(t *testing.T) {
	url := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, r.Method+" "+string(b))
	})
	out := MustCall(t, &rest.Connector{}, map[string]any{"url": url, "method": "PROPFIND", "text": "q"})
	if out["text"] != "PROPFIND q" {
		t.Errorf("text = %v, want PROPFIND q", out["text"])
	}
}

func TestDataDeprecated(t *testing.T) {
	base := MustHTTPBin(t)
	out := MustCall(t, &rest.Connector{}, map[string]any{"url": base + "/post", "data": map[string]any{"a": 1.0}})
	WantContains(t, logText(t, out), "input data is deprecated", "use json")
}
