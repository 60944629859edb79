package scripting_test

import (
	"strings"
	"testing"
)

// TestDurationsRefused: this.sleep and this.message refuse durations that are not a
// finite number of seconds between 0 and one year, at the script's line, instead of
// returning at once (1e12 s and Infinity overflowed into a negative duration).
func TestDurationsRefused(t *testing.T) {
	for _, tc := range []struct{ name, call, want string }{
		{"SleepHuge", "this.sleep(1e12)", "RangeError: this.sleep(seconds): seconds must be a number between 0 and 31622400 (one year), not 1000000000000"},
		{"SleepInfinity", "this.sleep(Infinity)", "RangeError: this.sleep(seconds): seconds must be a number between 0 and 31622400 (one year), not Infinity"},
		{"SleepMinusInfinity", "this.sleep(-Infinity)", "RangeError"},
		{"SleepNaN", "this.sleep(NaN)", "RangeError: this.sleep(seconds): seconds must be a number between 0 and 31622400 (one year), not NaN"},
		{"SleepNegative", "this.sleep(-1)", "RangeError"},
		{"SleepOverAYear", "this.sleep(31622401)", "RangeError"},
		{"SleepMaxInt64Nanos", "this.sleep(9223372037)", "RangeError"},
		{"SleepString", "this.sleep('10')", "TypeError: this.sleep(seconds): seconds must be a number"},
		{"SleepObject", "this.sleep({valueOf() { return 1; }})", "TypeError"},
		{"MessageHuge", "this.message({subject: 's', timeout: 1e12})", "RangeError: this.message: timeout must be a number of seconds greater than 0 and at most 31622400 (one year), not 1000000000000"},
		{"MessageInfinity", "this.message({subject: 's', timeout: Infinity})", "RangeError: this.message: timeout must be a number of seconds greater than 0 and at most 31622400 (one year), not Infinity"},
		{"MessageNaN", "this.message({subject: 's', timeout: NaN})", "RangeError"},
		{"MessageNegative", "this.message({subject: 's', timeout: -5})", "RangeError"},
		{"MessageZero", "this.message({subject: 's', timeout: 0})", "RangeError"},
		{"MessageString", "this.message({subject: 's', timeout: '60'})", "TypeError: this.message: timeout must be a number of seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, h := run(t, "function handler() {\n  const a = 1;\n  "+tc.call+";\n  return {reached: true};\n}", nil)
			if out.Status != "ENDED_ERROR" || !strings.Contains(out.Message, tc.want) || !strings.Contains(out.Message, "(t.js:3:") {
				t.Fatalf("got %s %q, want ENDED_ERROR with %q at t.js:3", out.Status, out.Message, tc.want)
			}
			if !h.now.Equal(start) {
				t.Fatalf("the clock moved to %v: the script slept", h.now)
			}
		})
	}
}

// TestDurationsAccepted: the limits themselves are accepted.
func TestDurationsAccepted(t *testing.T) {
	out, h := run(t, "function handler() { this.sleep(0); this.sleep(0.5); this.sleep(31622400); return this.message({subject: 's', timeout: 31622400}); }", nil)
	if out.Status != "ENDED_SUCCESS" {
		t.Fatalf("got %s %q", out.Status, out.Message)
	}
	if got, want := h.now.Sub(start).Seconds(), 31622400.5; got != want {
		t.Fatalf("slept %v s, want %v s", got, want)
	}
}
