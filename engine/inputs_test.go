package engine_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flowd/flowd/engine"
)

const ordersSchema = `{
  "type": "object",
  "required": ["customer"],
  "properties": {
    "customer": {"type": "integer", "description": "Customer id"},
    "color": {"type": "string", "enum": ["red", "green"], "default": "red"},
    "tags": {"type": "array", "items": {"type": "string"}, "default": ["new"]},
    "address": {"type": "object", "properties": {"country": {"type": "string", "default": "FR"}}},
    "lines": {"type": "array", "items": {"type": "object", "properties": {"qty": {"type": "integer", "default": 1}}}},
    "email": {"type": "string", "format": "email"}
  }
}`

// TestCheckInputs: defaults are applied (nested, in arrays) before the inputs are
// validated, and a refusal names the bad input's JSON pointer.
func TestCheckInputs(t *testing.T) {
	cases := []struct {
		name   string
		inputs string
		want   string // the inputs to run with, as JSON; "" for a refusal
		field  string
	}{
		{"OK", `{"customer": 42}`, `{"color":"red","customer":42,"tags":["new"]}`, ""},
		{"NestedDefaults", `{"customer": 1, "address": {}, "lines": [{}, {"qty": 3}]}`,
			`{"address":{"country":"FR"},"color":"red","customer":1,"lines":[{"qty":1},{"qty":3}],"tags":["new"]}`, ""},
		{"GivenValuesWin", `{"customer": 1, "color": "green", "tags": []}`, `{"color":"green","customer":1,"tags":[]}`, ""},
		{"ErrRequired", `{}`, "", "/customer"},
		{"ErrType", `{"customer": "42"}`, "", "/customer"},
		{"ErrEnum", `{"customer": 1, "color": "blue"}`, "", "/color"},
		{"ErrItems", `{"customer": 1, "tags": [1]}`, "", "/tags/0"},
		{"ErrFormat", `{"customer": 1, "email": "not an address"}`, "", "/email"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var in map[string]any
			if err := json.Unmarshal([]byte(tc.inputs), &in); err != nil {
				t.Fatal(err)
			}
			before := fmt.Sprint(in)
			got, err := engine.CheckInputs("orders", json.RawMessage(ordersSchema), in)
			if fmt.Sprint(in) != before {
				t.Errorf("the given inputs were changed: %v", in)
			}
			if tc.want == "" {
				var e *engine.Error
				if !errorAs(err, &e) || e.Code != engine.EInvalidInputs || e.Field != tc.field || !strings.Contains(e.Message, "GET /api/v1/flows/orders") {
					t.Fatalf("got %#v, want invalid_inputs at %s", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := json.Marshal(got); string(b) != tc.want {
				t.Fatalf("got %s, want %s", b, tc.want)
			}
		})
	}
	t.Run("NoSchema", func(t *testing.T) {
		for _, s := range []string{"", "null"} {
			got, err := engine.CheckInputs("f", json.RawMessage(s), map[string]any{"x": 1})
			if err != nil || got["x"] != 1 {
				t.Fatalf("schema %q: %v %v", s, got, err)
			}
		}
	})
}

func errorAs(err error, e **engine.Error) bool {
	if x, ok := err.(*engine.Error); ok {
		*e = x
		return true
	}
	return false
}

// TestCheckInputsSchema: a schema is checked when saved; it refers to no other
// document, so that saving or starting a flow fetches no URL and reads no file.
func TestCheckInputsSchema(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"type": "string"}`))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(file, []byte(`{"type": "string"}`), 0o600); err != nil {
		t.Fatal(err)
	}

	ok := []string{ordersSchema, `{}`, `{"properties": {}}`, ``, `null`,
		`{"type": "object", "$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}`}
	for _, s := range ok {
		if err := engine.CheckInputsSchema(json.RawMessage(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := map[string]struct{ schema, says string }{
		"ErrNotJSON":     {`{"type": `, "not valid JSON"},
		"ErrNotObject":   {`[1]`, "JSON object"},
		"ErrRootType":    {`{"type": "string"}`, `"type": "object"`},
		"ErrBadKeyword":  {`{"type": "object", "properties": {"a": {"type": "strin"}}}`, "not a valid JSON Schema"},
		"ErrBadRequired": {`{"type": "object", "required": "a"}`, "not a valid JSON Schema"},
		"ErrRemoteRef":   {`{"type": "object", "properties": {"a": {"$ref": "` + srv.URL + `/s.json"}}}`, "loads no schema"},
		"ErrRemoteMeta":  {`{"$schema": "` + srv.URL + `/meta", "type": "object"}`, "loads no schema"},
		"ErrFileRef":     {`{"type": "object", "properties": {"a": {"$ref": "file://` + file + `"}}}`, "loads no schema"},
		"ErrTooLarge":    {`{"type": "object", "description": "` + strings.Repeat("x", engine.MaxInputsSchemaBytes) + `"}`, "over the limit"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			err := engine.CheckInputsSchema(json.RawMessage(tc.schema))
			if engine.ErrorCode(err) != engine.EUnprocessable || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want unprocessable saying %q", err, tc.says)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("checking schemas fetched %d URLs", n)
	}
}
