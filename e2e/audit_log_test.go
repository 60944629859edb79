package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// auditEntry is an entry of GET /api/v1/audit as the tests read it.
type auditEntry struct {
	ID         string         `json:"id"`
	At         time.Time      `json:"at"`
	Actor      string         `json:"actor"`
	ActorKind  string         `json:"actor_kind"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	Target     string         `json:"target"`
	Address    string         `json:"address"`
	Detail     map[string]any `json:"detail"`
}

type auditPage struct {
	Items      []auditEntry `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

// auditClient creates an API client with role and returns it signed in, with its id.
func auditClient(t *testing.T, b *backend, role string) (*client, string) {
	t.Helper()
	id := unique("audit_" + role)
	var created struct{ ID, Secret string }
	b.api.must(t, "POST", "/api/v1/clients", map[string]string{"id": id, "name": id, "role": role}, &created, 201)
	c := &client{base: b.app.URL}
	if err := c.login(created.ID, created.Secret); err != nil {
		t.Fatal(err)
	}
	return c, created.ID
}

// auditSince returns every audit entry from since on that matches query (actor=...),
// following the cursor, and the raw answers.
func auditSince(t *testing.T, c *client, since time.Time, query string) ([]auditEntry, string) {
	t.Helper()
	var (
		all []auditEntry
		raw strings.Builder
	)
	q := "since=" + url.QueryEscape(since.UTC().Format(time.RFC3339Nano)) + "&limit=500"
	if query != "" {
		q += "&" + query
	}
	cursor := ""
	for range 100 {
		path := "/api/v1/audit?" + q
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var body json.RawMessage
		c.must(t, "GET", path, nil, &body, 200)
		raw.Write(body)
		var page auditPage
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			return all, raw.String()
		}
	}
	t.Fatal("the audit log pages do not end")
	return nil, ""
}

// startedBy reads an execution's started_by (nil when null).
func startedByOf(t *testing.T, c *client, id string) *string {
	t.Helper()
	var e struct {
		StartedBy *string `json:"started_by"`
	}
	c.must(t, "GET", "/api/v1/executions/"+id, nil, &e, 200)
	return e.StartedBy
}

func orNull(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// TestAuditLogActions does every audited change and action, by the admin client and
// by a second client with the editor role, and checks that each is in the audit log
// once with the right actor, action, target and address; that the executions carry
// started_by and the revisions their author; and that a secret's value is nowhere in
// the log.
func TestAuditLogActions(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		since := time.Now().Add(-time.Second)
		admin := "client:" + adminID
		editor, editorID := auditClient(t, b, "editor")
		ed := "client:" + editorID
		type want struct{ actor, action, target string }
		var wants []want
		expect := func(actor, action, target string) { wants = append(wants, want{actor, action, target}) }
		expect(admin, "client.create", editorID)

		// Flows and revisions: the admin saves revision 1, the editor revision 2.
		flow := unique("audited")
		script := `function handler(system, inputs) { this.log('hi'); return {n: inputs.n || 0}; }`
		b.api.must(t, "PUT", "/api/v1/flows/"+flow, map[string]string{"script": script}, nil, 201)
		editor.must(t, "PUT", "/api/v1/flows/"+flow, map[string]string{"script": script, "description": "second"}, nil, 200)
		expect(admin, "flow.save", flow)
		expect(ed, "flow.save", flow)
		var revs struct {
			Items []struct {
				Revision int     `json:"revision"`
				Author   *string `json:"author"`
			} `json:"items"`
		}
		b.api.must(t, "GET", "/api/v1/flows/"+flow+"/revisions", nil, &revs, 200)
		if len(revs.Items) != 2 || revs.Items[0].Revision != 2 || orNull(revs.Items[0].Author) != ed || orNull(revs.Items[1].Author) != admin {
			t.Fatalf("revisions: %+v (want revision 2 by %s, 1 by %s)", revs.Items, ed, admin)
		}
		var f struct {
			Author *string `json:"author"`
		}
		b.api.must(t, "GET", "/api/v1/flows/"+flow, nil, &f, 200)
		if orNull(f.Author) != ed {
			t.Fatalf("flow author %s, want %s", orNull(f.Author), ed)
		}

		// Starts: by the API, a draft run, a re-run and a replay.
		started := runFlow(t, b.api, flow, map[string]any{"n": 1})
		expect(admin, "execution.start", started.ID)
		var draft, rerun, replay execution
		editor.must(t, "POST", "/api/v1/flows/"+flow+"/draft-runs?wait=60", map[string]any{"script": script}, &draft, 200)
		expect(ed, "execution.draft_run", draft.ID)
		b.api.must(t, "POST", "/api/v1/executions/"+started.ID+"/rerun?wait=60", nil, &rerun, 200)
		expect(admin, "execution.rerun", rerun.ID)
		editor.must(t, "POST", "/api/v1/executions/"+started.ID+"/replay?wait=60", nil, &replay, 200)
		expect(ed, "execution.replay", replay.ID)
		for id, by := range map[string]string{started.ID: admin, draft.ID: ed, rerun.ID: admin, replay.ID: ed} {
			if got := startedByOf(t, b.api, id); orNull(got) != by {
				t.Errorf("execution %s: started_by %s, want %s", id, orNull(got), by)
			}
		}

		// Cancel and message answers.
		sleeper := unique("audited_sleeper")
		b.api.must(t, "PUT", "/api/v1/flows/"+sleeper, map[string]string{"script": `function handler() { this.sleep(120); }`}, nil, 201)
		expect(admin, "flow.save", sleeper)
		var sleeping execution
		b.api.must(t, "POST", "/api/v1/flows/"+sleeper+"/executions", nil, &sleeping, 201)
		expect(admin, "execution.start", sleeping.ID)
		editor.must(t, "POST", "/api/v1/executions/"+sleeping.ID+"/cancel", nil, nil, 202)
		expect(ed, "execution.cancel", sleeping.ID)
		waitEnded(t, b.api, sleeping.ID, 30*time.Second)
		asker := unique("audited_asker")
		editor.must(t, "PUT", "/api/v1/flows/"+asker, map[string]string{"script": `function handler() { return this.message({subject: 'go on?'}); }`}, nil, 201)
		expect(ed, "flow.save", asker)
		var asking execution
		editor.must(t, "POST", "/api/v1/flows/"+asker+"/executions", nil, &asking, 201)
		expect(ed, "execution.start", asking.ID)
		waitStatus(t, b.api, asking.ID, "WAITING")
		editor.must(t, "POST", "/api/v1/executions/"+asking.ID+"/messages", map[string]any{"answer": "yes, the answer text"}, nil, 202)
		expect(ed, "message.answer", asking.ID)
		waitEnded(t, b.api, asking.ID, 30*time.Second)

		// Secrets (names only), connectors, grants.
		secret, value := unique("audited_secret"), unique("value-never-in-the-audit-log")
		editor.must(t, "PUT", "/api/v1/secrets/"+secret, map[string]string{"value": value}, nil, 201)
		editor.must(t, "PUT", "/api/v1/secrets/"+secret, map[string]string{"value": value + "-changed"}, nil, 200)
		expect(ed, "secret.save", secret) // twice: checked below
		conn := unique("audited_conn")
		editor.must(t, "PUT", "/api/v1/connectors/"+conn, map[string]any{"connector_type": "REST",
			"inputs":  map[string]any{"url": "http://127.0.0.1:1/x", "authentication_method": "basic", "username": "u", "password": map[string]string{"secret": secret}},
			"domains": []string{"127.0.0.1"}}, nil, 201)
		editor.must(t, "DELETE", "/api/v1/connectors/"+conn, nil, nil, 204)
		expect(ed, "connector.save", conn)
		expect(ed, "connector.delete", conn)
		grant := unique("audited_grant")
		editor.must(t, "PUT", "/api/v1/grants/"+grant, map[string]any{"type": "client_credentials", "token_url": "http://127.0.0.1:1/token",
			"client_id": "c", "client_secret": map[string]string{"secret": secret}}, nil, 201)
		editor.must(t, "DELETE", "/api/v1/grants/"+grant, nil, nil, 204)
		expect(ed, "grant.save", grant)
		expect(ed, "grant.delete", grant)
		editor.must(t, "DELETE", "/api/v1/secrets/"+secret, nil, nil, 204)
		expect(ed, "secret.delete", secret)

		// Settings and files.
		setting, file := unique("audited_setting"), unique("audited_file")
		editor.must(t, "PUT", "/api/v1/settings/"+setting, map[string]any{"value": 1}, nil, 200)
		editor.must(t, "DELETE", "/api/v1/settings/"+setting, nil, nil, 204)
		editor.must(t, "PUT", "/api/v1/files/"+file, map[string]any{"text": "hello"}, nil, 200)
		editor.must(t, "DELETE", "/api/v1/files/"+file, nil, nil, 204)
		expect(ed, "setting.save", setting)
		expect(ed, "setting.delete", setting)
		expect(ed, "file.save", file)
		expect(ed, "file.delete", file)

		// Webhooks: the call's execution is started by the webhook.
		hook := unique("audited_hook")
		var created struct{ Key string }
		editor.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow}, &created, 201)
		expect(ed, "webhook.save", hook)
		st, hdr, body := hookCall(t, "POST", b.app.URL+"/api/v1/webhooks/"+hook+"/call?wait=60", map[string]string{"X-Flowd-Key": created.Key}, []byte(`{}`))
		hookExec := hdr.Get("X-Flowd-Execution-Id")
		if st != 200 || hookExec == "" {
			t.Fatalf("webhook call: HTTP %d %s", st, body)
		}
		expect("webhook:"+hook, "execution.start", hookExec)
		if got := startedByOf(t, b.api, hookExec); orNull(got) != "webhook:"+hook {
			t.Errorf("webhook execution: started_by %s, want webhook:%s", orNull(got), hook)
		}
		editor.must(t, "DELETE", "/api/v1/webhooks/"+hook, nil, nil, 204)
		expect(ed, "webhook.delete", hook)

		// Schedules: a run is started by the schedule, and recorded by the engine.
		sched := unique("audited_sched")
		editor.must(t, "PUT", "/api/v1/schedules/"+sched, map[string]any{"flow": flow, "cron": "* * * * * * *"}, nil, 201)
		expect(ed, "schedule.save", sched)
		var run execution
		eventually(t, 60*time.Second, "a scheduled run starts", func() (bool, string) {
			runs := scheduledRuns(t, b.api, flow)
			if len(runs) > 0 {
				run = runs[len(runs)-1]
			}
			return len(runs) > 0, fmt.Sprintf("%d runs", len(runs))
		})
		editor.must(t, "DELETE", "/api/v1/schedules/"+sched, nil, nil, 204)
		expect(ed, "schedule.delete", sched)
		if got := startedByOf(t, b.api, run.ID); orNull(got) != "schedule:"+sched {
			t.Errorf("scheduled run: started_by %s, want schedule:%s", orNull(got), sched)
		}
		expect("schedule:"+sched, "execution.start", run.ID)
		waitEnded(t, b.api, run.ID, 60*time.Second)

		// Child executions have no started_by.
		parent := unique("audited_parent")
		b.api.must(t, "PUT", "/api/v1/flows/"+parent, map[string]string{"script": `function handler() { return this.flow('` + flow + `', {n: 2}); }`}, nil, 201)
		expect(admin, "flow.save", parent)
		pe := runFlow(t, b.api, parent, nil)
		expect(admin, "execution.start", pe.ID)
		for _, ch := range childrenOf(t, b.api, pe.ID) {
			if got := startedByOf(t, b.api, ch.ID); got != nil {
				t.Errorf("child execution %s: started_by %s, want null", ch.ID, *got)
			}
		}

		// Clients, flow deletion, and the signing key (last: it ends every token).
		throwaway, throwawayID := auditClient(t, b, "viewer")
		_ = throwaway
		expect(admin, "client.create", throwawayID)
		b.api.must(t, "DELETE", "/api/v1/clients/"+throwawayID, nil, nil, 204)
		expect(admin, "client.delete", throwawayID)
		editor.must(t, "DELETE", "/api/v1/flows/"+asker, nil, nil, 204)
		expect(ed, "flow.delete", asker)
		b.api.must(t, "POST", "/api/v1/auth/signing-key/rotate", nil, nil, 204)
		expect(admin, "signing_key.rotate", "")
		if err := b.api.login(adminID, adminSecret); err != nil {
			t.Fatal(err)
		}

		entries, raw := auditSince(t, b.api, since, "")
		if strings.Contains(raw, value) {
			t.Errorf("the audit log holds the secret's value %q", value)
		}
		count := map[want]int{}
		for _, e := range entries {
			w := want{e.Actor, e.Action, e.Target}
			count[w]++
			wantAddr, wantKind := "127.0.0.1", "client"
			switch {
			case strings.HasPrefix(e.Actor, "schedule:"):
				wantAddr, wantKind = "", "schedule"
			case strings.HasPrefix(e.Actor, "webhook:"):
				wantKind = "webhook"
			}
			mine := e.Actor == ed || strings.Contains(e.Target, "audited") || e.Target == editorID || e.Target == throwawayID
			if mine && (e.Address != wantAddr || e.ActorKind != wantKind) {
				t.Errorf("entry %+v: address %q and actor_kind %q, want %q and %q", e, e.Address, e.ActorKind, wantAddr, wantKind)
			}
		}
		for _, w := range wants {
			n := count[w]
			if w.action == "secret.save" {
				n-- // saved twice
			}
			if w.action == "execution.start" && strings.HasPrefix(w.actor, "schedule:") && n >= 1 {
				n = 1 // the schedule may have started more runs; this one once
			}
			if n != 1 {
				t.Errorf("audit entry %+v: %d times, want once", w, count[w])
			}
		}
		for _, e := range entries {
			if e.Action == "execution.start" && e.Target == started.ID && (e.Detail["flow"] != flow || e.Detail["trigger"] != "api") {
				t.Errorf("start entry detail: %+v", e.Detail)
			}
			if e.Action == "execution.rerun" && e.Target == rerun.ID && e.Detail["rerun_of"] != started.ID {
				t.Errorf("rerun entry detail: %+v", e.Detail)
			}
			if e.Action == "execution.replay" && e.Target == replay.ID && e.Detail["replay_of"] != started.ID {
				t.Errorf("replay entry detail: %+v", e.Detail)
			}
		}
	})
}

// TestAuditLogQuery checks the filters and cursor paging of GET /api/v1/audit, and
// that only an admin reads it.
func TestAuditLogQuery(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		since := time.Now().Add(-time.Second)
		editor, editorID := auditClient(t, b, "editor")
		actor := "client:" + editorID
		var names []string
		for i := range 7 {
			name := unique(fmt.Sprintf("audited_page%d", i))
			names = append(names, name)
			editor.must(t, "PUT", "/api/v1/settings/"+name, map[string]any{"value": i}, nil, 200)
		}
		editor.must(t, "DELETE", "/api/v1/settings/"+names[0], nil, nil, 204)
		// 7 saves and 1 delete; newest first, in pages of 3.
		var (
			seen   = map[string]bool{}
			order  []auditEntry
			pages  int
			cursor string
		)
		for {
			path := "/api/v1/audit?limit=3&actor=" + url.QueryEscape(actor)
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			var page auditPage
			b.api.must(t, "GET", path, nil, &page, 200)
			pages++
			if len(page.Items) > 3 {
				t.Fatalf("page of %d entries with limit=3", len(page.Items))
			}
			for _, e := range page.Items {
				if seen[e.ID] {
					t.Fatalf("entry %s on two pages", e.ID)
				}
				seen[e.ID] = true
				order = append(order, e)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if pages != 3 || len(order) != 8 {
			t.Fatalf("%d pages, %d entries; want 3 pages, 8 entries: %+v", pages, len(order), order)
		}
		if order[0].Action != "setting.delete" || order[0].Target != names[0] || order[7].Target != names[0] || order[7].Action != "setting.save" {
			t.Fatalf("not newest first: %+v", order)
		}
		for i := 1; i < len(order); i++ {
			if order[i].At.After(order[i-1].At) {
				t.Fatalf("entry %d is newer than entry %d: %+v", i, i-1, order)
			}
		}

		// Filters: action, target, since/until, and all together.
		filtered := func(q string) []auditEntry {
			var page auditPage
			b.api.must(t, "GET", "/api/v1/audit?limit=500&"+q, nil, &page, 200)
			return page.Items
		}
		if got := filtered("actor=" + url.QueryEscape(actor) + "&action=setting.delete"); len(got) != 1 || got[0].Target != names[0] {
			t.Errorf("action filter: %+v", got)
		}
		if got := filtered("target=" + names[3]); len(got) != 1 || got[0].Actor != actor || got[0].Action != "setting.save" {
			t.Errorf("target filter: %+v", got)
		}
		if got := filtered("actor=" + url.QueryEscape(actor) + "&until=" + url.QueryEscape(since.UTC().Format(time.RFC3339Nano))); len(got) != 0 {
			t.Errorf("until before the entries: %+v", got)
		}
		mid := order[3].At // the 4th newest: since it inclusive keeps 4
		if got := filtered("actor=" + url.QueryEscape(actor) + "&since=" + url.QueryEscape(mid.Format(time.RFC3339Nano))); len(got) < 4 || len(got) == 8 {
			t.Errorf("since=%s: %d entries, want 4 (or a few more sharing the instant)", mid, len(got))
		}
		if got := filtered("actor=" + url.QueryEscape(actor) + "&until=" + url.QueryEscape(mid.Format(time.RFC3339Nano))); len(got) > 4 || len(got) == 0 {
			t.Errorf("until=%s: %d entries, want 4 (or fewer sharing the instant)", mid, len(got))
		}
		b.api.must(t, "GET", "/api/v1/audit?cursor=not-a-cursor", nil, nil, 400)
		b.api.must(t, "GET", "/api/v1/audit?since=yesterday", nil, nil, 400)
		b.api.must(t, "GET", "/api/v1/audit?limit=0", nil, nil, 400)

		// Only an admin reads the audit log.
		editor.must(t, "GET", "/api/v1/audit", nil, nil, 403)
		runner, _ := auditClient(t, b, "runner")
		runner.must(t, "GET", "/api/v1/audit", nil, nil, 403)
		anon := &client{base: b.app.URL}
		anon.must(t, "GET", "/api/v1/audit", nil, nil, 401)
	})
}

// TestAuditLogAbuse checks that no route writes or deletes an audit entry, and that a
// refused request (403, 422, 400) records nothing.
func TestAuditLogAbuse(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		since := time.Now().Add(-time.Second)
		editor, editorID := auditClient(t, b, "editor")
		actor := "client:" + editorID
		setting := unique("audited_abuse")
		editor.must(t, "PUT", "/api/v1/settings/"+setting, map[string]any{"value": 1}, nil, 200)
		before, _ := auditSince(t, b.api, since, "actor="+url.QueryEscape(actor))
		if len(before) != 1 {
			t.Fatalf("entries before: %+v", before)
		}
		id := before[0].ID
		forged := map[string]any{"id": id, "actor": "client:nobody", "action": "flow.delete", "target": "x"}
		for _, c := range []*client{b.api, editor} {
			for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
				for _, path := range []string{"/api/v1/audit", "/api/v1/audit/" + id, "/api/v1/audit?actor=" + url.QueryEscape(actor)} {
					st, err := c.call(method, path, forged, nil)
					if err != nil || st < 400 {
						t.Errorf("%s %s: HTTP %d %v, want a refusal", method, path, st, err)
					}
				}
			}
		}

		// Refused requests: 403 (role), 422 (a script that does not compile), 400.
		editor.must(t, "POST", "/api/v1/clients", map[string]string{"role": "admin"}, nil, 403)
		editor.must(t, "POST", "/api/v1/auth/signing-key/rotate", nil, nil, 403)
		editor.must(t, "PUT", "/api/v1/flows/"+unique("audited_bad"), map[string]string{"script": "function handler( {"}, nil, 422)
		editor.must(t, "PUT", "/api/v1/secrets/"+unique("audited_bad"), map[string]string{"value": ""}, nil, 400)
		editor.must(t, "DELETE", "/api/v1/settings/"+unique("audited_missing"), nil, nil, 404)

		after, _ := auditSince(t, b.api, since, "actor="+url.QueryEscape(actor))
		if len(after) != 1 || after[0].ID != id || after[0].Action != "setting.save" || after[0].Target != setting {
			t.Fatalf("entries after forged writes and refused requests: %+v, want only %+v", after, before[0])
		}
		if forgedOnes, _ := auditSince(t, b.api, since, "actor=client:nobody"); len(forgedOnes) != 0 {
			t.Fatalf("forged entries: %+v", forgedOnes)
		}
	})
}
