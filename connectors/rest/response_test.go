package rest_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

func TestResponseBody(t *testing.T) {
	tests := []struct {
		name         string
		contentType  string
		body         string
		wantKind     string
		want         any
		wantEncoding string
	}{
		{"JSON", "application/json", `{"n": 1, "f": 1.5, "big": 9007199254740993, "l": [true, null]}`, "json",
			map[string]any{"n": 1, "f": 1.5, "big": 9007199254740993, "l": []any{true, nil}}, "utf-8"},
		{"JSONProblem", "application/problem+json", `{"title":"x"}`, "json", map[string]any{"title": "x"}, "utf-8"},
		{"JSONWithoutType", "", `[1,2]`, "json", []any{1, 2}, "utf-8"},
		{"BrokenJSONIsText", "application/json", `{"a":`, "text", `{"a":`, "utf-8"},
		{"HTMLIsText", "text/html; charset=utf-8", `<p>1</p>`, "text", `<p>1</p>`, "utf-8"},
		{"CSVNumberIsText", "text/csv", `1`, "text", `1`, "utf-8"},
		{"Latin1", "text/plain; charset=iso-8859-1", "caf\xe9", "text", "café", "windows-1252"},
		{"BadUTF8IsBytes", "text/plain", "\xff\xfe", "bytes", base64.StdEncoding.EncodeToString([]byte("\xff\xfe")), ""},
		{"Binary", "image/png", "\x89PNG", "bytes", base64.StdEncoding.EncodeToString([]byte("\x89PNG")), ""},
		{"OctetStreamText", "application/octet-stream", "plain words", "text", "plain words", "utf-8"},
		{"OctetStreamBinary", "application/octet-stream", "a\x00b", "bytes", base64.StdEncoding.EncodeToString([]byte("a\x00b")), ""},
		{"Empty", "", "", "text", "", "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = []string{tt.contentType}
				io.WriteString(w, tt.body)
			})
			out := MustCall(t, &rest.Connector{}, map[string]any{"url": url})
			for _, k := range []string{"json", "text", "bytes"} {
				if _, ok := out[k]; ok != (k == tt.wantKind) {
					t.Errorf("output %s present = %v, want only %s", k, ok, tt.wantKind)
				}
			}
			if !reflect.DeepEqual(out[tt.wantKind], tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.wantKind, out[tt.wantKind], tt.want)
			}
			if out["encoding"] != tt.wantEncoding {
				t.Errorf("encoding = %v, want %v", out["encoding"], tt.wantEncoding)
			}
		})
	}
}

func TestResponseHeadersCookies(t *testing.T) {
	url := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s1"})
		http.SetCookie(w, &http.Cookie{Name: "lang", Value: "de"})
		w.WriteHeader(http.StatusCreated)
	})
	out := MustCall(t, &rest.Connector{}, map[string]any{"url": url})
	if out["status_code"] != 201 {
		t.Errorf("status_code = %v, want 201", out["status_code"])
	}
	h := out["headers"].(map[string]any)
	if h["x-multi"] != "a, b" {
		t.Errorf("headers[x-multi] = %v, want \"a, b\"", h["x-multi"])
	}
	if want := map[string]any{"sid": "s1", "lang": "de"}; !reflect.DeepEqual(out["cookies"], want) {
		t.Errorf("cookies = %v, want %v", out["cookies"], want)
	}
	WantContains(t, out["message"].(string), "GET", "answered 201 Created")
	if _, err := json.Marshal(out); err != nil {
		t.Errorf("outputs are not JSON: %v", err)
	}
}

func TestMaxBodyBytes(t *testing.T) {
	base := MustHTTPBin(t)
	tests := []struct {
		name string
		path string
	}{
		{"ContentLength", "/bytes/2000"},
		{"Chunked", "/stream-bytes/2000?chunk_size=100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CallErr(t, &rest.Connector{MaxBodyBytes: 1000}, map[string]any{"url": base + tt.path})
			if !errors.Is(err, rest.ErrBodyTooLarge) {
				t.Fatalf("err = %v, want ErrBodyTooLarge", err)
			}
			WantContains(t, err.Error(), "larger than 1000 bytes", "ask")
		})
	}
	out := MustCall(t, &rest.Connector{MaxBodyBytes: 1000}, map[string]any{"url": base + "/bytes/1000"})
	if b, _ := base64.StdEncoding.DecodeString(out["bytes"].(string)); len(b) != 1000 {
		t.Errorf("got %d bytes, want 1000", len(b))
	}
}

func TestDst(t *testing.T) {
	base := MustHTTPBin(t)
	files := &memFiles{}
	out := MustCall(t, &rest.Connector{Files: files}, map[string]any{"url": base + "/json", "dst": "saved.json"})
	for _, k := range []string{"json", "text", "bytes"} {
		if _, ok := out[k]; ok {
			t.Errorf("output %s set, want the body only in the file", k)
		}
	}
	if len(files.files["saved.json"]) == 0 {
		t.Errorf("file saved.json is empty")
	}
	WantContains(t, out["message"].(string), `stored in file "saved.json"`)

	// An unexpected answer is not stored but returned, so the user sees why.
	out, err := CallErr(t, &rest.Connector{Files: files}, map[string]any{"url": base + "/status/404", "dst": "missing"})
	var se *rest.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *StatusError", err)
	}
	if _, ok := files.files["missing"]; ok {
		t.Errorf("file missing was written for a 404")
	}
	if out["status_code"] != 404 {
		t.Errorf("status_code = %v", out["status_code"])
	}
}
