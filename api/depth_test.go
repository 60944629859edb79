package api

import (
	"strings"
	"testing"
)

func TestCheckJSONDepth(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		ok   bool
	}{
		{"Flat", `{"a": 1}`, true},
		{"AtLimit", strings.Repeat("[", 3) + strings.Repeat("]", 3), true},
		{"OverLimit", strings.Repeat("[", 4) + strings.Repeat("]", 4), false},
		{"ObjectsOverLimit", `{"a":{"b":{"c":{"d":1}}}}`, false},
		{"SiblingsDoNotAdd", `[[[1]],[[2]],[[3]]]`, true},
		{"BracketsInString", `["[[[[[[", "{{{{"]`, true},
		{"EscapedQuote", `["\"[[[[[[", 1]`, true},
		{"EscapedBackslash", `["\\", [[[1]]]]`, false},
		{"NotJSON", `hello [`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkJSONDepth("x", []byte(tc.raw), 3)
			if got := err == nil; got != tc.ok {
				t.Fatalf("checkJSONDepth(%s) = %v, want ok %v", tc.raw, err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "3 levels") {
				t.Fatalf("message %q does not name the limit", err)
			}
		})
	}
}
