package engine

import "testing"

func TestScheduleOf(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"flowd-schedule-nightly-2026-01-02T03:00:00Z", "nightly"},
		{"flowd-schedule-with-dashes-2026-12-31T23:59:59Z", "with-dashes"},
		{"flowd-schedule-x-2026-01-02T03:00:00Z", "x"},
		{"flowd-schedule--2026-01-02T03:00:00Z", ""},
		{"flowd-schedule-nightly", ""},
		{"flowd-schedule-nightly-not-a-time-at-all", ""},
		{"0193f1c2-7d3a-7b61-9a8e-2f5d0c1e4b7a", ""},
		{"", ""},
	} {
		if got := scheduleOf(tc.id); got != tc.want {
			t.Errorf("scheduleOf(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
