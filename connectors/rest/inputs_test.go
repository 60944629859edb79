package rest_test

import (
	"slices"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

func TestKnownInputs(t *testing.T) {
	got := rest.KnownInputs()
	for _, want := range []string{"url", "json", "multipart", "grant", "paginate", "connector_type", "wait"} {
		if !slices.Contains(got, want) {
			t.Errorf("KnownInputs() lacks %q", want)
		}
	}
	if !slices.IsSorted(got) {
		t.Errorf("KnownInputs() is not sorted: %v", got)
	}
}

func TestInputsEngineOnesIgnored(t *testing.T) {
	base := MustHTTPBin(t)
	MustCall(t, &rest.Connector{}, map[string]any{"url": base + "/get", "connector_type": "REST", "wait": true})
}

func TestInputErrors(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want []string
	}{
		{"ErrUnknown", map[string]any{"url": "http://x", "jsno": 1.0, "hedaers": 2.0}, []string{"unknown input hedaers, jsno", "allow_redirects", "verify_ssl"}},
		{"ErrTwoBodies", map[string]any{"url": "http://x", "json": map[string]any{}, "text": "a"}, []string{"json and text", "keep one"}},
		{"ErrJSONAndData", map[string]any{"url": "http://x", "json": 1.0, "data": 2.0}, []string{"json and data"}},
		{"ErrJSONWithGET", map[string]any{"url": "http://x", "method": "GET", "json": map[string]any{"a": 1.0}}, []string{"only allowed with POST, PUT, PATCH or DELETE", "not GET"}},
		{"ErrDataWithHEAD", map[string]any{"url": "http://x", "method": "head", "data": 1.0}, []string{"data body", "not HEAD"}},
		{"ErrMethod", map[string]any{"url": "http://x", "method": "GET /x"}, []string{"not an HTTP method"}},
		{"ErrHeaderType", map[string]any{"url": "http://x", "headers": "a"}, []string{"headers must be an object"}},
		{"ErrHeaderValue", map[string]any{"url": "http://x", "headers": map[string]any{"a": []any{}}}, []string{`value of "a"`}},
		{"ErrCookie", map[string]any{"url": "http://x", "cookies": map[string]any{"a b": "1"}}, []string{`cookie "a b"`}},
		{"ErrExpectedStatus", map[string]any{"url": "http://x", "expected_status_code": []any{"ok"}}, []string{"HTTP status code"}},
		{"ErrTimeout", map[string]any{"url": "http://x", "read_timeout": -1.0}, []string{"read_timeout", "seconds"}},
		{"ErrBool", map[string]any{"url": "http://x", "verify_ssl": "no"}, []string{"verify_ssl must be true or false"}},
		{"ErrMaxRedirects", map[string]any{"url": "http://x", "max_redirects": 1.5}, []string{"max_redirects must be a whole number"}},
		{"ErrBackoffKey", map[string]any{"url": "http://x", "retry_backoff": map[string]any{"intial": 1.0}}, []string{`unknown key "intial"`}},
		{"ErrDstWithoutFiles", map[string]any{"url": "http://x", "dst": "f"}, []string{"stored files are not available"}},
		{"ErrPaginateDst", map[string]any{"url": "http://x", "dst": "f", "paginate": map[string]any{"next": "n"}}, []string{"paginate and dst"}},
		{"ErrPaginateNext", map[string]any{"url": "http://x", "paginate": map[string]any{"items": "data"}}, []string{"paginate needs next"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := CallErr(t, &rest.Connector{}, tt.in)
			WantInputError(t, err, tt.want...)
			if _, ok := out["log"].([]any); !ok {
				t.Errorf("log output = %T, want a list", out["log"])
			}
		})
	}
}
