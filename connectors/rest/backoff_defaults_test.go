package rest

import "testing"

// TestBackoffDefaults pins the retry_backoff defaults of the contract: initial 1 s,
// maximum 60 s, multiplier 2, deadline 600 s; the delay never exceeds maximum.
func TestBackoffDefaults(t *testing.T) {
	b, err := parseBackoff(inputs{})
	if err != nil {
		t.Fatal(err)
	}
	if b.initial != 1 || b.maximum != 60 || b.multiplier != 2 || b.deadline != 600 {
		t.Fatalf("defaults %+v", b)
	}
	if d := b.delay(20, 0); d != 60 {
		t.Fatalf("the 21st delay is %v s, want the maximum of 60", d)
	}
	b, err = parseBackoff(inputs{"retry_backoff": map[string]any{"maximum": 5}})
	if err != nil || b.maximum != 5 || b.deadline != 600 || b.delay(10, 0) != 5 {
		t.Fatalf("maximum 5: %+v %v", b, err)
	}
}
