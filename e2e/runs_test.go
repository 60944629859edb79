package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowd/flowd/examples"
)

// runsExecution is an execution with the fields of drafts and re-runs.
type runsExecution struct {
	execution
	RerunOf *string `json:"rerun_of"`
}

// runsAPIError is the API's error body.
type runsAPIError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
		Line    int    `json:"line"`
	} `json:"error"`
}

// roleClients creates one API client per role and returns them signed in.
func roleClients(t *testing.T, b *backend, roles ...string) map[string]*client {
	t.Helper()
	out := map[string]*client{}
	for _, role := range roles {
		var created struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		}
		b.api.must(t, "POST", "/api/v1/clients", map[string]string{"name": unique(role), "role": role}, &created, 201)
		c := &client{base: b.app.URL}
		if err := c.login(created.ID, created.Secret); err != nil {
			t.Fatal(err)
		}
		out[role] = c
	}
	return out
}

// mustFail calls the API and fails the test unless it answers status with the error
// code (and, when set, field), returning the error.
func mustFail(t *testing.T, c *client, method, path string, body any, status int, code, field string) runsAPIError {
	t.Helper()
	var e runsAPIError
	st, err := c.call(method, path, body, &e)
	if err != nil {
		t.Fatal(err)
	}
	if st != status || e.Error.Code != code || (field != "" && e.Error.Field != field) || e.Error.Message == "" {
		t.Fatalf("%s %s: HTTP %d %+v, want %d %s at %q", method, path, st, e.Error, status, code, field)
	}
	return e
}

type flowView struct {
	Revision     int             `json:"revision"`
	Script       string          `json:"script"`
	InputsSchema json.RawMessage `json:"inputs_schema"`
}

// TestDraftRuns: a draft runs an unsaved script without a new revision, with trigger
// draft, listed with its flow; it passes the checks of a save and the limits of any
// run, and only editors may run one.
func TestDraftRuns(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name := unique("drafted")
		pushFlow(t, b.api, name, "function handler(system, inputs) { return {v: 'saved'}; }")
		var before flowView
		b.api.must(t, "GET", "/api/v1/flows/"+name, nil, &before, 200)

		var e runsExecution
		b.api.must(t, "POST", "/api/v1/flows/"+name+"/draft-runs?wait=60",
			map[string]any{"script": "function handler(system, inputs) { return {v: 'draft', x: inputs.x, base: system.base_url}; }", "inputs": map[string]any{"x": 5}}, &e, 200)
		if e.Status != "ENDED_SUCCESS" || e.Outputs["v"] != "draft" || e.Outputs["x"] != float64(5) || e.Trigger != "draft" || e.FlowRevision != before.Revision {
			t.Fatalf("draft run: %+v", e)
		}
		if e.Outputs["base"] != b.app.URL {
			t.Errorf("system.base_url = %v, want %s", e.Outputs["base"], b.app.URL)
		}
		var after flowView
		b.api.must(t, "GET", "/api/v1/flows/"+name, nil, &after, 200)
		if after.Revision != before.Revision || after.Script != before.Script {
			t.Fatalf("a draft run changed the flow: revision %d -> %d", before.Revision, after.Revision)
		}
		var revs struct{ Items []flowView }
		b.api.must(t, "GET", "/api/v1/flows/"+name+"/revisions", nil, &revs, 200)
		if len(revs.Items) != 1 {
			t.Fatalf("%d revisions after a draft run, want 1", len(revs.Items))
		}
		var list struct{ Items []runsExecution }
		b.api.must(t, "GET", "/api/v1/executions?flow="+name, nil, &list, 200)
		if len(list.Items) != 1 || list.Items[0].ID != e.ID || list.Items[0].Trigger != "draft" {
			t.Fatalf("the flow's executions: %+v", list.Items)
		}

		t.Run("ErrScript", func(t *testing.T) {
			err := mustFail(t, b.api, "POST", "/api/v1/flows/"+name+"/draft-runs", map[string]any{"script": "function handler() {\n  let x = ;\n}"}, 422, "invalid_script", "")
			if err.Error.Line != 2 {
				t.Fatalf("line %d, want 2", err.Error.Line)
			}
			mustFail(t, b.api, "POST", "/api/v1/flows/"+name+"/draft-runs", map[string]any{"script": "function handler() { return 1; }", "inputs": []int{1}}, 400, "invalid", "")
			mustFail(t, b.api, "POST", "/api/v1/flows/"+name+"/draft-runs", map[string]any{"inputs": map[string]any{}}, 400, "invalid", "")
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			err := mustFail(t, b.api, "POST", "/api/v1/flows/"+unique("unsaved")+"/draft-runs", map[string]any{"script": "function handler() {}"}, 404, "not_found", "")
			if !strings.Contains(err.Error.Message, "save it first") {
				t.Fatalf("message %q does not say to save the flow first", err.Error.Message)
			}
		})
		t.Run("Roles", func(t *testing.T) {
			cs := roleClients(t, b, "viewer", "runner", "editor")
			body := map[string]any{"script": "function handler() { return {ok: true}; }"}
			for _, role := range []string{"viewer", "runner"} {
				mustFail(t, cs[role], "POST", "/api/v1/flows/"+name+"/draft-runs", body, 403, "forbidden", "")
			}
			cs["editor"].must(t, "POST", "/api/v1/flows/"+name+"/draft-runs?wait=60", body, nil, 200)
		})
		t.Run("Limits", func(t *testing.T) {
			var loop runsExecution
			b.api.must(t, "POST", "/api/v1/flows/"+name+"/draft-runs?wait=60", map[string]any{"script": "function handler() {\n  for (;;) {}\n}"}, &loop, 200)
			if loop.Status != "ENDED_ERROR" || !strings.Contains(loop.StatusMessage, "without waiting") {
				t.Fatalf("a runaway draft ended %s %q, want the CPU budget's error", loop.Status, loop.StatusMessage)
			}
			var host runsExecution
			b.api.must(t, "POST", "/api/v1/flows/"+name+"/draft-runs?wait=60", map[string]any{"script": `function handler() {
  return {process: typeof process, require: typeof require, env: typeof globalThis.process === 'object' ? 'leak' : 'none'};
}`}, &host, 200)
			if host.Outputs["process"] != "undefined" || host.Outputs["require"] != "undefined" || host.Outputs["env"] != "none" {
				t.Fatalf("a draft sees the host: %v", host.Outputs)
			}
			// A draft cannot write what a save refuses: {secret: NAME} in code.
			mustFail(t, b.api, "POST", "/api/v1/flows/"+name+"/draft-runs",
				map[string]any{"script": "function handler() { return this.connect({connector_type: 'REST', url: 'http://x', password: {secret: 'pw'}}); }"}, 422, "invalid_script", "")
		})
	})
}

// TestRerun: a FLOW execution runs again with its inputs, with the latest revision or
// the same one, recording rerun_of; runners may, viewers may not.
func TestRerun(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name := unique("rerun")
		pushFlow(t, b.api, name, "function handler(system, inputs) { return {v: 1, x: inputs.x}; }")
		first := runFlow(t, b.api, name, map[string]any{"x": 7})
		pushFlow(t, b.api, name, "function handler(system, inputs) { return {v: 2, x: inputs.x}; }")
		cs := roleClients(t, b, "viewer", "runner")

		var latest runsExecution
		cs["runner"].must(t, "POST", "/api/v1/executions/"+first.ID+"/rerun?wait=60", nil, &latest, 200)
		if latest.Status != "ENDED_SUCCESS" || latest.FlowRevision != 2 || latest.Outputs["v"] != float64(2) || latest.Outputs["x"] != float64(7) ||
			latest.RerunOf == nil || *latest.RerunOf != first.ID || latest.Trigger != "rerun" || latest.ID == first.ID {
			t.Fatalf("re-run with the latest revision: %+v (rerun_of %v)", latest, latest.RerunOf)
		}
		var same runsExecution
		cs["runner"].must(t, "POST", "/api/v1/executions/"+first.ID+"/rerun?wait=60", map[string]string{"revision": "same"}, &same, 200)
		if same.FlowRevision != 1 || same.Outputs["v"] != float64(1) || same.Outputs["x"] != float64(7) || same.RerunOf == nil || *same.RerunOf != first.ID {
			t.Fatalf("re-run with the same revision: %+v", same)
		}
		var got runsExecution
		b.api.must(t, "GET", "/api/v1/executions/"+same.ID, nil, &got, 200)
		if got.RerunOf == nil || *got.RerunOf != first.ID {
			t.Fatalf("rerun_of is not recorded: %+v", got)
		}

		mustFail(t, cs["viewer"], "POST", "/api/v1/executions/"+first.ID+"/rerun", nil, 403, "forbidden", "")
		mustFail(t, b.api, "POST", "/api/v1/executions/"+first.ID+"/rerun", map[string]string{"revision": "bogus"}, 400, "invalid", "")
		mustFail(t, b.api, "POST", "/api/v1/executions/00000000-0000-0000-0000-000000000000/rerun", nil, 404, "not_found", "")

		t.Run("ErrConnection", func(t *testing.T) {
			withCall := unique("rerun_call")
			pushFlow(t, b.api, withCall, "function handler(system, inputs) { return {s: this.connect({connector_type: 'REST', url: system.base_url + '/demo/anything/x'}).get('output_value').status_code}; }")
			e := runFlow(t, b.api, withCall, nil)
			kids := childrenOf(t, b.api, e.ID)
			if e.Status != "ENDED_SUCCESS" || len(kids) != 1 {
				t.Fatalf("flow with a connect: %s %q, %d children", e.Status, e.StatusMessage, len(kids))
			}
			err := mustFail(t, b.api, "POST", "/api/v1/executions/"+kids[0].ID+"/rerun", nil, 400, "invalid", "")
			if !strings.Contains(err.Error.Message, e.ID) {
				t.Fatalf("message %q does not name the flow execution to re-run", err.Error.Message)
			}
		})
		t.Run("Draft", func(t *testing.T) {
			var draft runsExecution
			b.api.must(t, "POST", "/api/v1/flows/"+name+"/draft-runs?wait=60", map[string]any{"script": "function handler(s, inputs) { return {v: 'draft', x: inputs.x}; }", "inputs": map[string]any{"x": 3}}, &draft, 200)
			mustFail(t, b.api, "POST", "/api/v1/executions/"+draft.ID+"/rerun", map[string]string{"revision": "same"}, 400, "invalid", "")
			var again runsExecution
			b.api.must(t, "POST", "/api/v1/executions/"+draft.ID+"/rerun?wait=60", map[string]string{"revision": "latest"}, &again, 200)
			if again.Outputs["v"] != float64(2) || again.Outputs["x"] != float64(3) || again.FlowRevision != 2 {
				t.Fatalf("re-run of a draft with the latest revision: %+v", again)
			}
		})
	})
}

const customerSchema = `{
  "type": "object",
  "required": ["customer"],
  "properties": {
    "customer": {"type": "integer", "description": "Customer id"},
    "color": {"type": "string", "enum": ["red", "green"], "default": "red"},
    "tags": {"type": "array", "items": {"type": "string"}, "default": ["new"]}
  }
}`

// TestInputsSchema: a flow declares its inputs; every trigger validates them and
// applies the defaults before anything runs, and refuses bad ones with 422
// invalid_inputs naming the field.
func TestInputsSchema(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name := unique("declared")
		b.api.must(t, "PUT", "/api/v1/flows/"+name, map[string]any{"script": "function handler(s, inputs) { return {inputs: inputs}; }",
			"inputs_schema": json.RawMessage(customerSchema)}, nil, 201)
		var f flowView
		b.api.must(t, "GET", "/api/v1/flows/"+name, nil, &f, 200)
		if !strings.Contains(string(f.InputsSchema), `"customer"`) {
			t.Fatalf("GET returns inputs_schema %s", f.InputsSchema)
		}
		// A save without inputs_schema keeps it.
		pushFlow(t, b.api, name, "function handler(s, inputs) { return {inputs: inputs}; }")
		var revs struct{ Items []flowView }
		b.api.must(t, "GET", "/api/v1/flows/"+name+"/revisions", nil, &revs, 200)
		if len(revs.Items) != 2 || !strings.Contains(string(revs.Items[0].InputsSchema), `"customer"`) || !strings.Contains(string(revs.Items[1].InputsSchema), `"customer"`) {
			t.Fatalf("revisions: %+v", revs.Items)
		}

		t.Run("API", func(t *testing.T) {
			mustFail(t, b.api, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{"inputs": map[string]any{}}, 422, "invalid_inputs", "/customer")
			mustFail(t, b.api, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{"inputs": map[string]any{"customer": 1, "color": "blue"}}, 422, "invalid_inputs", "/color")
			mustFail(t, b.api, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{"inputs": map[string]any{"customer": "one"}}, 422, "invalid_inputs", "/customer")
			e := runFlow(t, b.api, name, map[string]any{"customer": 42})
			if e.Status != "ENDED_SUCCESS" || e.Inputs["color"] != "red" || fmt.Sprint(e.Inputs["tags"]) != "[new]" {
				t.Fatalf("the execution's inputs lack the defaults: %s %v", e.Status, e.Inputs)
			}
			if got := e.Outputs["inputs"].(map[string]any); got["color"] != "red" {
				t.Fatalf("the script did not get the defaults: %v", got)
			}
		})
		t.Run("Draft", func(t *testing.T) {
			mustFail(t, b.api, "POST", "/api/v1/flows/"+name+"/draft-runs", map[string]any{"script": "function handler() {}", "inputs": map[string]any{}}, 422, "invalid_inputs", "/customer")
			// A draft of the schema, beside the draft of the script.
			mustFail(t, b.api, "POST", "/api/v1/flows/"+name+"/draft-runs", map[string]any{"script": "function handler() {}", "inputs": map[string]any{"customer": 1},
				"inputs_schema": map[string]any{"type": "object", "required": []string{"region"}}}, 422, "invalid_inputs", "/region")
		})
		t.Run("Rerun", func(t *testing.T) {
			e := runFlow(t, b.api, name, map[string]any{"customer": 1})
			tighter := strings.Replace(customerSchema, `"required": ["customer"]`, `"required": ["customer", "region"]`, 1)
			b.api.must(t, "PUT", "/api/v1/flows/"+name, map[string]any{"script": "function handler(s, inputs) { return {inputs: inputs}; }", "inputs_schema": json.RawMessage(tighter)}, nil, 200)
			mustFail(t, b.api, "POST", "/api/v1/executions/"+e.ID+"/rerun", nil, 422, "invalid_inputs", "/region")
			b.api.must(t, "POST", "/api/v1/executions/"+e.ID+"/rerun?wait=60", map[string]string{"revision": "same"}, nil, 200)
			b.api.must(t, "PUT", "/api/v1/flows/"+name, map[string]any{"script": "function handler(s, inputs) { return {inputs: inputs}; }", "inputs_schema": json.RawMessage(customerSchema)}, nil, 200)
		})
		t.Run("ChildFlow", func(t *testing.T) {
			parent := unique("parent_of_declared")
			pushFlow(t, b.api, parent, `function handler(system, inputs) {
  if (inputs.uncaught) {
    this.flow('`+name+`', {customer: 'x'});
  }
  try {
    this.flow('`+name+`', {color: 'blue', customer: 1});
  } catch (e) {
    const ok = this.flow('`+name+`', {customer: 2});
    return {name: e.name, message: e.message, defaulted: ok.get('output_value').inputs.color};
  }
}`)
			e := runFlow(t, b.api, parent, nil)
			if e.Status != "ENDED_SUCCESS" || e.Outputs["name"] != "TypeError" || !strings.Contains(fmt.Sprint(e.Outputs["message"]), "/color") || e.Outputs["defaulted"] != "red" {
				t.Fatalf("caught child with bad inputs: %s %q %v", e.Status, e.StatusMessage, e.Outputs)
			}
			e = runFlow(t, b.api, parent, map[string]any{"uncaught": true})
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "/customer") || !strings.Contains(e.StatusMessage, parent+".js:3:") {
				t.Fatalf("uncaught child with bad inputs: %s %q", e.Status, e.StatusMessage)
			}
		})
		t.Run("Webhook", func(t *testing.T) {
			hooked := unique("hooked")
			b.api.must(t, "PUT", "/api/v1/flows/"+hooked, map[string]any{"script": "function handler(s, inputs) { return {id: inputs.json.id}; }",
				"inputs_schema": map[string]any{"type": "object", "required": []string{"json"},
					"properties": map[string]any{"json": map[string]any{"type": "object", "required": []string{"id"}, "properties": map[string]any{"id": map[string]any{"type": "integer"}}}}}}, nil, 201)
			hook := unique("hook")
			var created struct {
				Key string `json:"key"`
			}
			b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": hooked}, &created, 201)
			url := b.app.URL + "/api/v1/webhooks/" + hook + "/call"
			key := map[string]string{"X-Flowd-Key": created.Key, "Content-Type": "application/json"}
			st, _, body := hookCall(t, "POST", url, key, []byte(`{"name": "no id"}`))
			var e runsAPIError
			if err := json.Unmarshal(body, &e); err != nil || st != 422 || e.Error.Code != "invalid_inputs" || e.Error.Field != "/json/id" {
				t.Fatalf("webhook with bad inputs: HTTP %d %s", st, body)
			}
			if st, _, body := hookCall(t, "POST", url+"?wait=60", key, []byte(`{"id": 5}`)); st != 200 || !strings.Contains(string(body), `"id":5`) {
				t.Fatalf("webhook with good inputs: HTTP %d %s", st, body)
			}
		})
		t.Run("Schedule", func(t *testing.T) {
			sched := unique("declared_schedule")
			mustFail(t, b.api, "PUT", "/api/v1/schedules/"+sched, map[string]any{"flow": name, "cron": "@daily", "inputs": map[string]any{"color": "red"}, "enabled": false}, 422, "invalid_inputs", "/customer")
			b.api.must(t, "PUT", "/api/v1/schedules/"+sched, map[string]any{"flow": name, "cron": "@daily", "inputs": map[string]any{"customer": 3}, "enabled": false}, nil, 201)
			b.api.must(t, "DELETE", "/api/v1/schedules/"+sched, nil, nil, 204)
		})
		t.Run("ScheduledRun", func(t *testing.T) {
			// The flow's schema changes after the schedule was saved: each run checks again.
			later := unique("declared_later")
			pushFlow(t, b.api, later, "function handler() { return {ran: true}; }")
			sched := unique("every_second")
			b.api.must(t, "PUT", "/api/v1/schedules/"+sched, map[string]any{"flow": later, "cron": "@every 1s", "inputs": map[string]any{}}, nil, 201)
			defer b.api.must(t, "DELETE", "/api/v1/schedules/"+sched, nil, nil, 204)
			b.api.must(t, "PUT", "/api/v1/flows/"+later, map[string]any{"script": "function handler() { return {ran: true}; }", "inputs_schema": json.RawMessage(customerSchema)}, nil, 200)
			eventually(t, 30*time.Second, "a scheduled run is refused for its inputs", func() (bool, string) {
				var list struct{ Items []execution }
				b.api.must(t, "GET", "/api/v1/executions?trigger=schedule&flow="+later, nil, &list, 200)
				for _, e := range list.Items {
					if e.Status == "ENDED_ERROR" && strings.Contains(e.StatusMessage, "inputs_schema") && strings.Contains(e.StatusMessage, "/customer") {
						return true, ""
					}
				}
				return false, fmt.Sprintf("%+v", list.Items)
			})
		})
		t.Run("ErrSchema", func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.Write([]byte(`{"type": "integer"}`))
			}))
			defer srv.Close()
			bad := map[string]any{
				"bad type":   map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "strin"}}},
				"not object": map[string]any{"type": "string"},
				"remote ref": map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"$ref": srv.URL + "/a.json"}}},
				"huge":       map[string]any{"type": "object", "description": strings.Repeat("x", 70<<10)},
			}
			for what, schema := range bad {
				st, err := b.api.call("PUT", "/api/v1/flows/"+unique("badschema"), map[string]any{"script": "function handler() {}", "inputs_schema": schema}, nil)
				if err != nil || st != 422 {
					t.Errorf("%s: HTTP %d %v, want 422", what, st, err)
				}
			}
			if n := hits.Load(); n != 0 {
				t.Fatalf("saving a schema with a remote $ref fetched it %d times", n)
			}
		})
	})
}

// examplesWithDefaults saves every example with its inputs_schema and starts it with
// no inputs: those that need nothing else run to their end with the schema's
// defaults and system.base_url; those that need a person, secrets or settings start
// with the defaults in their inputs and are cancelled; those with a required input
// are refused naming it.
func examplesWithDefaults(t *testing.T, b *backend) {
	ok := func(e execution) bool { return e.Status == "ENDED_SUCCESS" }
	standalone := map[string]func(e execution) bool{
		"joke": func(e execution) bool { return ok(e) && e.StatusMessage != "" },
		"url_parts": func(e execution) bool {
			return ok(e) && e.Outputs["url"] == b.app.URL+"/demo/anything/some/path?query=parameter"
		},
		"incremental_feed": ok,
		"fan_out": func(e execution) bool {
			return ok(e) && fmt.Sprint(e.Outputs["greetings"]) == "[Hello, Ada! Hello, Grace! Hello, Linus!]"
		},
		"greet": func(e execution) bool {
			return e.Status == "ENDED_ERROR" && strings.Contains(e.StatusMessage, "greet needs")
		},
	}
	all := examples.All()
	sort.SliceStable(all, func(i, j int) bool { return all[i].Name == "greet" }) // fan_out runs it
	for _, ex := range all {
		t.Run(ex.Name, func(t *testing.T) {
			name := unique(ex.Name)
			if ex.Name == "greet" {
				name = "greet"
			}
			b.api.must(t, "PUT", "/api/v1/flows/"+name, map[string]any{"script": ex.Script, "inputs_schema": ex.InputsSchema}, nil, 200, 201)
			var schema struct {
				Required   []string                  `json:"required"`
				Properties map[string]map[string]any `json:"properties"`
			}
			if err := json.Unmarshal(ex.InputsSchema, &schema); err != nil {
				t.Fatal(err)
			}
			for _, r := range schema.Required {
				if _, has := schema.Properties[r]["default"]; !has {
					mustFail(t, b.api, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{"inputs": map[string]any{}}, 422, "invalid_inputs", "/"+r)
					return
				}
			}
			var e execution
			b.api.must(t, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{"inputs": map[string]any{}}, &e, 201)
			for p, s := range schema.Properties {
				if _, has := s["default"]; has && e.Inputs[p] == nil {
					t.Errorf("input %s lacks its default: %v", p, e.Inputs)
				}
			}
			check := standalone[ex.Name]
			if check == nil {
				b.api.must(t, "POST", "/api/v1/executions/"+e.ID+"/cancel", nil, nil, 202, 409)
				waitEnded(t, b.api, e.ID, 60*time.Second)
				return
			}
			if e = waitEnded(t, b.api, e.ID, 60*time.Second); !check(e) {
				t.Fatalf("%s with its defaults ended %s %q %v", ex.Name, e.Status, e.StatusMessage, e.Outputs)
			}
		})
	}
}
