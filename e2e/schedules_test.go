package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tclient "go.temporal.io/sdk/client"
)

type scheduleView struct {
	Name       string      `json:"name"`
	Flow       string      `json:"flow"`
	Cron       string      `json:"cron"`
	Enabled    bool        `json:"enabled"`
	Overlap    string      `json:"overlap"`
	Paused     bool        `json:"paused"`
	NextRuns   []time.Time `json:"next_runs"`
	RecentRuns []struct {
		ExecutionID string `json:"execution_id"`
	} `json:"recent_runs"`
	Warning string `json:"warning"`
}

// scheduledRuns lists the flow's executions started by a schedule.
func scheduledRuns(t *testing.T, c *client, flow string) []execution {
	t.Helper()
	var page struct{ Items []execution }
	c.must(t, "GET", "/api/v1/executions?trigger=schedule&flow="+flow, nil, &page, 200)
	return page.Items
}

func TestSchedules(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		flow, name := unique("ticking"), unique("every_second")
		pushFlow(t, b.api, flow, "function handler(system, inputs) { this.log('tick', inputs.n); return {n: inputs.n}; }")

		t.Run("refused", func(t *testing.T) {
			for _, tc := range []struct {
				body map[string]any
				want int
			}{
				{map[string]any{"flow": flow, "cron": "* * * * * *"}, 400}, // six fields: ambiguous
				{map[string]any{"flow": flow, "cron": ""}, 400},
				{map[string]any{"flow": flow, "cron": "61 * * * *"}, 400}, // refused by Temporal
				{map[string]any{"flow": flow, "cron": "@daily", "timezone": "Mars/Olympus"}, 400},
				{map[string]any{"flow": flow, "cron": "@daily", "overlap": "sometimes"}, 400},
				{map[string]any{"flow": flow, "cron": "@daily", "inputs": []int{1}}, 400},
				{map[string]any{"flow": unique("missing"), "cron": "@daily"}, 422},
			} {
				if st, err := b.api.call("PUT", "/api/v1/schedules/"+unique("bad"), tc.body, nil); err != nil || st != tc.want {
					t.Errorf("PUT %v: HTTP %d %v, want %d", tc.body, st, err, tc.want)
				}
			}
			viewer := newRoleClient(t, b, "viewer")
			if st, _ := viewer.call("PUT", "/api/v1/schedules/"+name, map[string]any{"flow": flow, "cron": "@daily"}, nil); st != 403 {
				t.Errorf("viewer PUT schedule: HTTP %d, want 403", st)
			}
		})

		var sc scheduleView
		b.api.must(t, "PUT", "/api/v1/schedules/"+name, map[string]any{"flow": flow, "cron": "* * * * * * *", "inputs": map[string]any{"n": 7}, "timezone": "Europe/Paris"}, &sc, 201)
		if !sc.Enabled || sc.Paused || sc.Overlap != "skip" || len(sc.NextRuns) == 0 || sc.Warning != "" {
			t.Fatalf("created schedule: %+v", sc)
		}
		defer b.api.call("DELETE", "/api/v1/schedules/"+name, nil, nil)

		// At least one run, recorded with trigger schedule and the flow's revision.
		var ended execution
		eventually(t, 60*time.Second, "a scheduled run ends", func() (bool, string) {
			runs := scheduledRuns(t, b.api, flow)
			for _, e := range runs {
				if e.Status == "ENDED_SUCCESS" {
					ended = e
				}
			}
			return ended.ID != "", fmt.Sprintf("runs: %+v", runs)
		})
		if ended.Outputs["n"] != float64(7) || ended.Inputs["n"] != float64(7) || ended.FlowRevision != 1 || ended.Type != "FLOW" || ended.RootID != ended.ID {
			t.Fatalf("scheduled run: %+v", ended)
		}
		if lines := logsOf(t, b.api, ended.ID); len(lines) != 1 || lines[0].Message != "tick 7" {
			t.Fatalf("logs of the scheduled run: %+v", lines)
		}

		// Viewers read it, with Temporal's report of the runs.
		viewer := newRoleClient(t, b, "viewer")
		viewer.must(t, "GET", "/api/v1/schedules/"+name, nil, &sc, 200)
		if len(sc.RecentRuns) == 0 {
			t.Fatalf("schedule after runs: %+v", sc)
		}
		var list struct{ Items []scheduleView }
		viewer.must(t, "GET", "/api/v1/schedules", nil, &list, 200)
		found := false
		for _, s := range list.Items {
			found = found || s.Name == name && s.Cron == "* * * * * * *"
		}
		if !found {
			t.Fatalf("schedule %s not listed: %+v", name, list.Items)
		}

		// Pause: no more runs (one may have been starting as it was paused).
		b.api.must(t, "PUT", "/api/v1/schedules/"+name, map[string]any{"flow": flow, "cron": "* * * * * * *", "inputs": map[string]any{"n": 7}, "enabled": false}, &sc, 200)
		if sc.Enabled || !sc.Paused {
			t.Fatalf("paused schedule: %+v", sc)
		}
		before := len(scheduledRuns(t, b.api, flow))
		// A negative check: nothing may happen for 2.5 s (2 due times of the cron), so
		// this one wait is fixed.
		time.Sleep(2500 * time.Millisecond)
		if after := len(scheduledRuns(t, b.api, flow)); after > before+1 {
			t.Fatalf("%d runs while paused", after-before)
		}

		b.api.must(t, "DELETE", "/api/v1/schedules/"+name, nil, nil, 204)
		b.api.must(t, "GET", "/api/v1/schedules/"+name, nil, nil, 404)
		b.api.must(t, "DELETE", "/api/v1/schedules/"+name, nil, nil, 404)
	})
}

// TestScheduleOfDeletedFlow: a run whose flow was deleted is recorded ENDED_ERROR
// with a message that says what to do.
func TestScheduleOfDeletedFlow(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		flow, name := unique("doomed"), unique("orphan")
		pushFlow(t, b.api, flow, "function handler() { return {}; }")
		b.api.must(t, "PUT", "/api/v1/schedules/"+name, map[string]any{"flow": flow, "cron": "@every 1s", "enabled": false}, nil, 201)
		defer b.api.call("DELETE", "/api/v1/schedules/"+name, nil, nil)
		b.api.must(t, "DELETE", "/api/v1/flows/"+flow, nil, nil, 204)
		b.api.must(t, "PUT", "/api/v1/schedules/"+name, map[string]any{"flow": flow, "cron": "@every 1s"}, nil, 422)

		// Resume it behind the API's back, as if the flow was deleted while it ran.
		h := b.app.Temporal.ScheduleClient().GetHandle(t.Context(), "flowd-schedule-"+name)
		if err := h.Unpause(t.Context(), tclient.ScheduleUnpauseOptions{Note: "flowd e2e"}); err != nil {
			t.Fatal(err)
		}
		var runs []execution
		eventually(t, 60*time.Second, "a run of the deleted flow fails", func() (bool, string) {
			runs = scheduledRuns(t, b.api, flow)
			return len(runs) > 0 && runs[0].Status == "ENDED_ERROR", fmt.Sprintf("runs: %+v", runs)
		})
		if want := fmt.Sprintf("flow %q does not exist", flow); !strings.HasPrefix(runs[0].StatusMessage, want) {
			t.Fatalf("status message %q, want it to start with %q", runs[0].StatusMessage, want)
		}
	})
}
