package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

// The OpenAPI document of GET /api/v1/openapi.json is written here by hand, one
// apiOp per route, because the handlers decode their bodies by hand too. It cannot
// drift from the router: TestOpenAPICoversRoutes walks Echo's routes and fails for a
// route missing here or an entry here that is not routed.

// apiOp documents one route. Path is as registered with Echo (":name", a trailing
// "*"); method anyMethod is a route for every method (Echo's Any).
type apiOp struct {
	method, path string
	summary      string
	role         engine.Role // "" needs no bearer token
	body         string      // request schema in components, "" for none
	status       int         // the success status
	result       string      // its schema in components, "" for none
	query        []string    // "name: description"
}

const anyMethod = "ANY"

// anyMethods are the methods OpenAPI can describe; Echo's Any also routes CONNECT,
// PROPFIND and REPORT, which it cannot.
var anyMethods = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

var waitQuery = "wait: seconds to wait for the execution to end (at most 300); 200 once ended, 202 with it running after that"

var apiOps = []apiOp{
	{method: "GET", path: "/healthz", summary: "Liveness: the process answers.", status: 200, result: "Object"},
	{method: "GET", path: "/readyz", summary: "Readiness: the database and Temporal answer; 503 otherwise.", status: 200, result: "Object"},
	{method: "GET", path: "/metrics", summary: "Prometheus metrics: executions started and ended by status, connector call latency, HTTP requests.", status: 200},
	{method: "GET", path: "/demo/jokes/random", summary: "A random joke, for the examples.", status: 200, result: "Object"},
	{method: anyMethod, path: "/demo/anything*", summary: "Echoes the request as httpbin's /anything does, for the examples.", status: 200, result: "Object"},
	{method: "GET", path: "/api/v1/openapi.json", summary: "This document.", status: 200, result: "Object"},
	{method: "POST", path: "/api/v1/auth/token", summary: "OAuth2 client-credentials grant (form or JSON body; or HTTP Basic); 10 failed attempts per minute per address.", body: "TokenRequest", status: 200, result: "Token"},

	{method: "GET", path: "/api/v1/flows", summary: "List flows (without scripts).", role: engine.RoleViewer, status: 200, result: "FlowList"},
	{method: "GET", path: "/api/v1/flows/:name", summary: "One flow with its latest script.", role: engine.RoleViewer, status: 200, result: "Flow"},
	{method: "PUT", path: "/api/v1/flows/:name", summary: "Create a flow or save a new revision; 422 with line and column for a script that does not compile.", role: engine.RoleEditor, body: "FlowPut", status: 200, result: "Flow"},
	{method: "DELETE", path: "/api/v1/flows/:name", summary: "Delete a flow; its revisions stay for the executions that ran them.", role: engine.RoleEditor, status: 204},
	{method: "GET", path: "/api/v1/flows/:name/revisions", summary: "A flow's revisions, newest first.", role: engine.RoleViewer, status: 200, result: "FlowRevisionList"},
	{method: "POST", path: "/api/v1/flows/:name/executions", summary: "Start the flow's latest revision; 201 with the execution.", role: engine.RoleRunner, body: "StartRequest", status: 201, result: "Execution", query: []string{waitQuery}},
	{method: "POST", path: "/api/v1/flows/:name/draft-runs", summary: "Run an unsaved script of a saved flow without creating a revision (trigger draft; flow_revision is the latest revision it was based on); " +
		"the script passes the checks of a save first (422 with line and column); 422 invalid_inputs with field for inputs that do not fit the inputs_schema; 201 with the execution.",
		role: engine.RoleEditor, body: "DraftRunRequest", status: 201, result: "Execution", query: []string{waitQuery}},

	{method: "GET", path: "/api/v1/executions", summary: "List executions, newest first, with an opaque cursor.", role: engine.RoleViewer, status: 200, result: "ExecutionList",
		query: []string{"flow: flow name", "status: PENDING, RUNNING, WAITING, ENDED_SUCCESS, ENDED_ERROR or ENDED_CANCELLED", "type: FLOW or CONNECTION",
			"trigger: api, webhook, schedule, parent, draft, rerun or replay", "parent_id: direct children of this execution", "root_id: the tree of this root execution",
			"top_level: true keeps only executions without a parent (what a trigger started)",
			"since: RFC 3339 time, inclusive", "until: RFC 3339 time, exclusive", "limit: page size (default 50, at most 500)", "cursor: next_cursor of the previous page",
			"input.<path>: a value inside the inputs at a dotted path, as JSON or a string (input.customer=42)"}},
	{method: "GET", path: "/api/v1/executions/:id", summary: "One execution.", role: engine.RoleViewer, status: 200, result: "Execution", query: []string{waitQuery}},
	{method: "GET", path: "/api/v1/executions/:id/children", summary: "The direct children, in start order.", role: engine.RoleViewer, status: 200, result: "ExecutionList"},
	{method: "GET", path: "/api/v1/executions/:id/logs", summary: "Log lines; with Accept: text/event-stream a live stream (events log, status, end) that resumes from Last-Event-ID.", role: engine.RoleViewer, status: 200, result: "Logs",
		query: []string{"after: only lines with a greater seq"}},
	{method: "POST", path: "/api/v1/executions/:id/rerun", summary: "Start a FLOW execution again with the same inputs (trigger rerun, rerun_of its id), with the flow's latest revision or the same one it ran; " +
		"400 for a connection, another revision value, or \"same\" of a draft run; 201 with the new execution.", role: engine.RoleRunner, body: "RerunRequest", status: 201, result: "Execution", query: []string{waitQuery}},
	{method: "POST", path: "/api/v1/executions/:id/replay", summary: "Replay an ended FLOW execution: run the script (the flow's latest revision, or the one sent; checked as a save is, 422 with line and column) with its inputs, " +
		"answering each this.connect, child flow and message from what the execution recorded, without calling any service (trigger replay, replay_of its id). " +
		"A connect that differs from the recorded one, or one more than were recorded, ends it ENDED_ERROR with a status_message that starts \"replay diverged at connect #N\". " +
		"400 for a connection, 409 for an execution still running; 201 with the new execution.", role: engine.RoleEditor, body: "ReplayRequest", status: 201, result: "Execution", query: []string{waitQuery}},
	{method: "POST", path: "/api/v1/executions/:id/cancel", summary: "Cancel a running execution and its running children; 202.", role: engine.RoleRunner, status: 202, result: "Execution"},
	{method: "POST", path: "/api/v1/executions/:id/messages", summary: "Answer the execution's pending this.message with {\"answer\": ...}; 202 with the execution.", role: engine.RoleRunner, body: "Object", status: 202, result: "Execution"},

	{method: "GET", path: "/api/v1/clients", summary: "List API clients.", role: engine.RoleAdmin, status: 200, result: "ClientList"},
	{method: "POST", path: "/api/v1/clients", summary: "Create an API client; its secret is in this answer only.", role: engine.RoleAdmin, body: "ClientCreate", status: 201, result: "ClientCreated"},
	{method: "DELETE", path: "/api/v1/clients/:id", summary: "Delete an API client; its tokens stop working, also once a client with the same id is created again.", role: engine.RoleAdmin, status: 204},
	{method: "GET", path: "/api/v1/audit", summary: "The audit log, newest first, with an opaque cursor: who (actor client:<id>, user:<name>, webhook:<name>, schedule:<name>), when, what (action), to what (target_type, target) and from which address. Read-only: no route writes or deletes entries.",
		role: engine.RoleAdmin, status: 200, result: "AuditList",
		query: []string{"actor: client:<id>, user:<name>, webhook:<name> or schedule:<name>", "action: like flow.save or execution.start", "target: a name or execution id",
			"since: RFC 3339 time, inclusive", "until: RFC 3339 time, exclusive", "limit: page size (default 50, at most 500)", "cursor: next_cursor of the previous page"}},
	{method: "POST", path: "/api/v1/auth/signing-key/rotate", summary: "Replace the key that signs access tokens: every token issued before, this request's too, stops working at once in every API process; clients get new ones from /api/v1/auth/token.", role: engine.RoleAdmin, status: 204},

	{method: "GET", path: "/api/v1/auth/methods", summary: "How the sign-in page may sign in: password, and single sign-on (oidc: its display name and login_url) when configured, else null.", status: 200, result: "AuthMethods"},
	{method: "GET", path: "/api/v1/auth/oidc/login", summary: "Start single sign-on: 302 to the OpenID Connect provider (authorization code with PKCE S256), with state and nonce in the short-lived HttpOnly cookie flowd_oidc; 404 when single sign-on is not configured.",
		status: 302, query: []string{"return_to: a path on this server to go to after the sign-in (anything else: /)"}},
	{method: "GET", path: "/api/v1/auth/oidc/callback", summary: "Where the provider sends the browser back: checks state and nonce, exchanges the code, verifies the ID token, maps the role claim, finds or creates the user (source oidc), " +
		"sets the session cookie flowd_session as POST /api/v1/auth/login does and answers 302 to return_to; a refused sign-in answers an HTML page that says why (400, 403, 502 or 503) and sets no session.",
		status: 302, query: []string{"code: the authorization code", "state: the state of the sign-in this browser started", "error: an error from the provider"}},
	{method: "POST", path: "/api/v1/auth/login", summary: "Sign a user in with username and password: sets the HttpOnly, SameSite=Lax session cookie flowd_session (Secure over HTTPS) and returns the csrf_token " +
		"that cookie-authenticated requests other than GET must send in X-CSRF-Token. 401 alike for an unknown user and a wrong password; 429 with Retry-After after 10 failures a minute for one username or from one address.",
		body: "LoginRequest", status: 200, result: "Login"},
	{method: "GET", path: "/api/v1/auth/me", summary: "Who the request acts for (kind user or client, name, role) and, for a browser session, its csrf_token.", role: engine.RoleViewer, status: 200, result: "Me"},
	{method: "POST", path: "/api/v1/auth/logout", summary: "End this browser session: the session is deleted and the cookie cleared; 400 for a bearer token.", role: engine.RoleViewer, status: 204},
	{method: "GET", path: "/api/v1/auth/sessions", summary: "The caller's own browser sessions (current marks this one); empty for an API client.", role: engine.RoleViewer, status: 200, result: "SessionList"},
	{method: "DELETE", path: "/api/v1/auth/sessions/:id", summary: "Revoke one of the caller's own sessions; 404 for another's.", role: engine.RoleViewer, status: 204},
	{method: "GET", path: "/api/v1/users", summary: "List users (never their password hashes).", role: engine.RoleAdmin, status: 200, result: "UserList"},
	{method: "POST", path: "/api/v1/users", summary: "Create a user with a password of at least 12 characters and a role (or, with source oidc and no password, one who signs in only through single sign-on); 409 when the username is taken.", role: engine.RoleAdmin, body: "UserCreate", status: 201, result: "User"},
	{method: "GET", path: "/api/v1/users/:username", summary: "One user.", role: engine.RoleAdmin, status: 200, result: "User"},
	{method: "PATCH", path: "/api/v1/users/:username", summary: "Change a user's role, reset the password, or disable or enable it; a reset or disabling ends its sessions. " +
		"409 for demoting or disabling the last enabled admin user.", role: engine.RoleAdmin, body: "UserPatch", status: 200, result: "User"},
	{method: "DELETE", path: "/api/v1/users/:username", summary: "Delete a user and end its sessions; 409 for the last enabled admin user.", role: engine.RoleAdmin, status: 204},

	{method: "GET", path: "/api/v1/webhooks", summary: "List webhooks (never their keys).", role: engine.RoleEditor, status: 200, result: "WebhookList"},
	{method: "GET", path: "/api/v1/webhooks/:name", summary: "One webhook (never its key).", role: engine.RoleEditor, status: 200, result: "Webhook"},
	{method: "PUT", path: "/api/v1/webhooks/:name", summary: "Create or replace a webhook. Without key, a new webhook gets a generated key, returned in this answer only; an existing one keeps its key.", role: engine.RoleEditor, body: "WebhookPut", status: 200, result: "Webhook"},
	{method: "DELETE", path: "/api/v1/webhooks/:name", summary: "Delete a webhook.", role: engine.RoleEditor, status: 204},
	{method: anyMethod, path: "/api/v1/webhooks/:name/call", summary: "Run the webhook's flow with inputs {method, path, headers, query, body, json} (body at most 256 KiB; the key is left out). " +
		"Authenticated by the webhook's key in ?key= or X-Flowd-Key, not a token. The reply is the flow's outputs status_code, headers and body, or its outputs as JSON; " +
		"202 {execution_id} when the flow has not ended within the wait; 404 alike for an unknown or disabled webhook and a wrong key.", status: 200, result: "Object",
		query: []string{"key: the webhook's key (the X-Flowd-Key header keeps it out of access logs)", "async: 1 answers 202 at once", "wait: seconds to wait for the flow (default 30, at most 300)"}},

	{method: "GET", path: "/api/v1/schedules", summary: "List schedules.", role: engine.RoleViewer, status: 200, result: "ScheduleList"},
	{method: "GET", path: "/api/v1/schedules/:name", summary: "One schedule, with its next and recent runs from Temporal.", role: engine.RoleViewer, status: 200, result: "Schedule"},
	{method: "PUT", path: "/api/v1/schedules/:name", summary: "Create or replace a schedule (a Temporal Schedule); enabled false pauses it.", role: engine.RoleEditor, body: "SchedulePut", status: 200, result: "Schedule"},
	{method: "DELETE", path: "/api/v1/schedules/:name", summary: "Delete a schedule; runs it started go on.", role: engine.RoleEditor, status: 204},

	{method: "GET", path: "/api/v1/connectors", summary: "List saved connectors.", role: engine.RoleViewer, status: 200, result: "List"},
	{method: "GET", path: "/api/v1/connectors/:name", summary: "One saved connector with its state.", role: engine.RoleViewer, status: 200, result: "Object"},
	{method: "PUT", path: "/api/v1/connectors/:name", summary: "Create or replace a saved connector {connector_type, inputs, domains, description}.", role: engine.RoleEditor, body: "Object", status: 200, result: "Object"},
	{method: "DELETE", path: "/api/v1/connectors/:name", summary: "Delete a saved connector.", role: engine.RoleEditor, status: 204},
	{method: "POST", path: "/api/v1/connectors/:name/test", summary: "Test a saved connector and record its state.", role: engine.RoleEditor, status: 200, result: "Object"},
	{method: "GET", path: "/api/v1/secrets", summary: "List secrets (names and dates, never values).", role: engine.RoleEditor, status: 200, result: "List"},
	{method: "GET", path: "/api/v1/secrets/:name", summary: "One secret's name and dates, never its value.", role: engine.RoleEditor, status: 200, result: "Object"},
	{method: "PUT", path: "/api/v1/secrets/:name", summary: "Create or replace a secret {value}.", role: engine.RoleEditor, body: "Object", status: 200, result: "Object"},
	{method: "DELETE", path: "/api/v1/secrets/:name", summary: "Delete a secret.", role: engine.RoleEditor, status: 204},
	{method: "GET", path: "/api/v1/grants", summary: "List OAuth2 grants.", role: engine.RoleViewer, status: 200, result: "List"},
	{method: "GET", path: "/api/v1/grants/:name", summary: "One OAuth2 grant.", role: engine.RoleViewer, status: 200, result: "Object"},
	{method: "PUT", path: "/api/v1/grants/:name", summary: "Create or replace an OAuth2 grant (client_credentials or jwt_assertion).", role: engine.RoleEditor, body: "Object", status: 200, result: "Object"},
	{method: "DELETE", path: "/api/v1/grants/:name", summary: "Delete an OAuth2 grant.", role: engine.RoleEditor, status: 204},
	{method: "GET", path: "/api/v1/settings", summary: "List settings.", role: engine.RoleViewer, status: 200, result: "List"},
	{method: "GET", path: "/api/v1/settings/:name", summary: "One setting.", role: engine.RoleViewer, status: 200, result: "Object"},
	{method: "PUT", path: "/api/v1/settings/:name", summary: "Create or replace a setting {value}.", role: engine.RoleEditor, body: "Object", status: 200, result: "Object"},
	{method: "DELETE", path: "/api/v1/settings/:name", summary: "Delete a setting.", role: engine.RoleEditor, status: 204},
	{method: "GET", path: "/api/v1/files", summary: "List stored files.", role: engine.RoleViewer, status: 200, result: "List"},
	{method: "GET", path: "/api/v1/files/:name", summary: "One stored file.", role: engine.RoleViewer, status: 200, result: "Object"},
	{method: "PUT", path: "/api/v1/files/:name", summary: "Create or replace a stored file {text} or {base64}.", role: engine.RoleEditor, body: "Object", status: 200, result: "Object"},
	{method: "DELETE", path: "/api/v1/files/:name", summary: "Delete a stored file.", role: engine.RoleEditor, status: 204},
}

// openAPIPath turns an Echo path into an OpenAPI one: ":name" is "{name}", a
// trailing "*" is "{path}".
func openAPIPath(p string) string {
	p = paramRE.ReplaceAllString(p, "{$1}")
	if strings.HasSuffix(p, "*") {
		p = strings.TrimSuffix(p, "*") + "{path}"
	}
	return p
}

var paramRE = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// openAPISchemas are the components the operations refer to.
var openAPISchemas = map[string]any{
	"Object": map[string]any{"type": "object"},
	"List":   obj(map[string]any{"items": arr(map[string]any{"type": "object"})}),
	"Error": obj(map[string]any{"error": obj(map[string]any{
		"code": str(), "message": str(), "line": integer(), "column": integer(),
		"field": map[string]any{"type": "string", "description": "with code invalid_inputs: the JSON pointer of the bad input (/customer/id)"}})}),
	"TokenRequest": obj(map[string]any{"grant_type": str(), "client_id": str(), "client_secret": str(), "scope": str()}),
	"Token":        obj(map[string]any{"access_token": str(), "token_type": str(), "expires_in": integer()}),
	"Flow": obj(map[string]any{"name": str(), "description": str(), "revision": integer(), "script": str(),
		"inputs_schema": map[string]any{"type": "object"}, "created_at": dateTime(), "updated_at": dateTime(),
		"author": map[string]any{"type": []string{"string", "null"}, "description": "who saved the latest revision: user:<name> or client:<id>; null when not recorded"}}),
	"FlowList": list("Flow"),
	"FlowPut": obj(map[string]any{"script": str(), "description": str(), "max_runtime": integer(),
		"inputs_schema": map[string]any{"type": []string{"object", "null"}, "description": "JSON Schema of the inputs (type, properties, required, default, enum, items, description, format; $ref only within itself; at most 64 KiB); left out keeps the current one, null removes it"}}),
	"DraftRunRequest": obj(map[string]any{"script": str(), "inputs": map[string]any{"type": "object"},
		"inputs_schema": map[string]any{"type": "object", "description": "checks the inputs instead of the saved flow's inputs_schema"}}),
	"ReplayRequest": obj(map[string]any{"script": map[string]any{"type": "string", "description": "the script to replay; left out, the flow's latest revision"}}),
	"RerunRequest":  obj(map[string]any{"revision": map[string]any{"type": "string", "enum": []string{"latest", "same"}, "default": "latest"}}),
	"FlowRevisionList": obj(map[string]any{"items": arr(obj(map[string]any{"flow": str(), "revision": integer(), "script": str(),
		"description": str(), "inputs_schema": map[string]any{"type": "object"}, "created_at": dateTime(),
		"author": map[string]any{"type": []string{"string", "null"}, "description": "who saved the revision: user:<name> or client:<id>; null when not recorded"}}))}),
	"StartRequest": obj(map[string]any{"inputs": map[string]any{"type": "object"}}),
	"Execution": obj(map[string]any{"id": str(), "type": enum("FLOW", "CONNECTION"), "name": str(),
		"status":         enum("PENDING", "RUNNING", "WAITING", "ENDED_SUCCESS", "ENDED_ERROR", "ENDED_CANCELLED"),
		"status_message": str(), "parent_id": map[string]any{"type": []string{"string", "null"}}, "root_id": str(), "flow_revision": integer(),
		"inputs": map[string]any{"type": "object"}, "outputs": map[string]any{"type": "object"}, "trigger": enum("api", "webhook", "schedule", "parent", "draft", "rerun", "replay"),
		"rerun_of":   map[string]any{"type": "string", "description": "the execution this one re-runs"},
		"replay_of":  map[string]any{"type": []string{"string", "null"}, "description": "the recorded execution this one replays (a replay, its child flows), or the recorded connection a replayed connection answered with"},
		"started_by": map[string]any{"type": []string{"string", "null"}, "description": "who started it: user:<name>, client:<id>, webhook:<name> or schedule:<name>; null for child executions"},
		"created_at": dateTime(), "started_at": dateTime(), "ended_at": dateTime()}),
	"ExecutionList": obj(map[string]any{"items": arr(ref("Execution")), "next_cursor": str()}),
	"Logs":          obj(map[string]any{"status": str(), "items": arr(obj(map[string]any{"seq": integer(), "ts": dateTime(), "level": str(), "message": str()}))}),
	"Client":        obj(map[string]any{"id": str(), "name": str(), "role": enum("admin", "editor", "runner", "viewer"), "created_at": dateTime()}),
	"ClientList":    list("Client"),
	"ClientCreate":  obj(map[string]any{"id": str(), "name": str(), "role": enum("admin", "editor", "runner", "viewer")}),
	"ClientCreated": obj(map[string]any{"id": str(), "name": str(), "role": str(), "created_at": dateTime(), "secret": str()}),
	"Webhook": obj(map[string]any{"name": str(), "flow": str(), "enabled": boolean(), "url": str(),
		"key": str(), "created_at": dateTime(), "updated_at": dateTime()}),
	"WebhookList": list("Webhook"),
	"WebhookPut":  obj(map[string]any{"flow": str(), "key": str(), "enabled": boolean()}),
	"Schedule": obj(map[string]any{"name": str(), "flow": str(), "cron": str(), "inputs": map[string]any{"type": "object"},
		"enabled": boolean(), "timezone": str(), "overlap": str(), "created_at": dateTime(), "updated_at": dateTime(),
		"paused": boolean(), "next_runs": arr(dateTime()), "running": arr(str()), "actions": integer(), "skipped_overlap": integer(),
		"recent_runs": arr(obj(map[string]any{"scheduled_at": dateTime(), "started_at": dateTime(), "execution_id": str()})), "warning": str()}),
	"ScheduleList": list("Schedule"),
	"AuditEntry": obj(map[string]any{"id": str(), "at": dateTime(), "actor": str(), "actor_kind": enum("client", "user", "webhook", "schedule", "anonymous"),
		"action": str(), "target_type": str(), "target": str(), "address": str(), "detail": map[string]any{"type": "object", "description": "more about the action; never a secret's value"}}),
	"AuthMethods": obj(map[string]any{"password": boolean(), "oidc": map[string]any{"type": []string{"object", "null"},
		"properties": map[string]any{"name": str(), "login_url": str()}}}),
	"LoginRequest": obj(map[string]any{"username": str(), "password": str()}),
	"Login":        obj(map[string]any{"username": str(), "role": enum("admin", "editor", "runner", "viewer"), "csrf_token": str(), "expires_at": dateTime()}),
	"Me": obj(map[string]any{"kind": enum("user", "client"), "name": str(), "role": enum("admin", "editor", "runner", "viewer"),
		"csrf_token": map[string]any{"type": "string", "description": "only for a browser session"}}),
	"SessionList": obj(map[string]any{"items": arr(obj(map[string]any{"id": str(), "created_at": dateTime(), "last_seen_at": dateTime(),
		"expires_at": dateTime(), "address": str(), "user_agent": str(), "current": boolean()}))}),
	"User": obj(map[string]any{"username": str(), "role": enum("admin", "editor", "runner", "viewer"), "source": enum("password", "oidc"),
		"disabled": boolean(), "created_at": dateTime(), "updated_at": dateTime()}),
	"UserList":   list("User"),
	"UserCreate": obj(map[string]any{"username": str(), "password": str(), "role": enum("admin", "editor", "runner", "viewer"), "source": enum("password", "oidc")}),
	"UserPatch":  obj(map[string]any{"role": enum("admin", "editor", "runner", "viewer"), "password": str(), "disabled": boolean()}),
	"AuditList":  obj(map[string]any{"items": arr(ref("AuditEntry")), "next_cursor": str()}),
	"SchedulePut": obj(map[string]any{"flow": str(), "inputs": map[string]any{"type": "object"}, "enabled": boolean(),
		"cron":     map[string]any{"type": "string", "description": `5 fields ("0 3 * * *"), 7 fields with seconds first and year last ("*/10 * * * * * *"), "@daily" or "@every 30s"`},
		"timezone": map[string]any{"type": "string", "description": "IANA time zone; empty is UTC"},
		"overlap":  enum("skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all")}),
}

func obj(props map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": props}
}
func arr(items any) map[string]any    { return map[string]any{"type": "array", "items": items} }
func ref(name string) map[string]any  { return map[string]any{"$ref": "#/components/schemas/" + name} }
func list(name string) map[string]any { return obj(map[string]any{"items": arr(ref(name))}) }
func str() map[string]any             { return map[string]any{"type": "string"} }
func integer() map[string]any         { return map[string]any{"type": "integer"} }
func boolean() map[string]any         { return map[string]any{"type": "boolean"} }
func dateTime() map[string]any {
	return map[string]any{"type": []string{"string", "null"}, "format": "date-time"}
}
func enum(v ...string) map[string]any { return map[string]any{"type": "string", "enum": v} }

// openAPIDocument builds the document from apiOps.
func openAPIDocument() map[string]any {
	paths := map[string]map[string]any{}
	for _, o := range apiOps {
		p := openAPIPath(o.path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		methods := []string{o.method}
		if o.method == anyMethod {
			methods = anyMethods
		}
		for _, m := range methods {
			paths[p][strings.ToLower(m)] = o.operation(m, p)
		}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "flowd API", "version": "1",
			"description": "flowd runs JavaScript flows durably on Temporal. Every route except those with an empty security list needs " +
				"Authorization: Bearer <JWT> from POST /api/v1/auth/token (or a browser session cookie from POST /api/v1/auth/login); x-flowd-role is the least role it needs (admin > editor > runner > viewer). " +
				"Errors are {\"error\": {\"code\", \"message\"}}."},
		"servers": []any{map[string]any{"url": "/", "description": "the flowd server that serves this document"}},
		"paths":   paths,
		"components": map[string]any{
			"responses": responsesComponent(),
			"schemas":   openAPISchemas,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": "flowd_session",
					"description": "a browser session from POST /api/v1/auth/login; requests other than GET also need X-CSRF-Token"}},
		},
	}
}

func responsesComponent() map[string]any {
	out := map[string]any{}
	for name, desc := range errorResponses {
		out[name] = map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
	}
	return out
}

func (o apiOp) operation(method, path string) map[string]any {
	op := map[string]any{"summary": o.summary, "operationId": operationID(method, path)}
	var params []any
	for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": str()})
	}
	for _, q := range o.query {
		name, desc, _ := strings.Cut(q, ": ")
		params = append(params, map[string]any{"name": name, "in": "query", "description": desc, "schema": str()})
	}
	if params != nil {
		op["parameters"] = params
	}
	if o.role == "" {
		op["security"] = []any{}
	} else {
		op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"session": []string{}}}
		op["x-flowd-role"] = string(o.role)
	}
	if o.body != "" && method != "GET" && method != "HEAD" {
		op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": ref(o.body)}}}
	}
	ok := map[string]any{"description": http.StatusText(o.status)}
	if o.result != "" {
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(o.result)}}
	}
	errResp := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
	responses := map[string]any{strconv.Itoa(o.status): ok, "default": errResp, "400": errorResponse("BadRequest"), "503": errorResponse("Unavailable")}
	if o.role != "" {
		responses["401"], responses["403"] = errorResponse("Unauthorized"), errorResponse("Forbidden")
	}
	if strings.Contains(path, "{") {
		responses["404"] = errorResponse("NotFound")
	}
	if o.body != "" && method != "GET" && method != "HEAD" {
		responses["422"] = errorResponse("Unprocessable")
	}
	op["responses"] = responses
	return op
}

// errorResponses are the error answers most routes share, in the Error shape.
var errorResponses = map[string]string{
	"BadRequest":    "a malformed request: a parameter or body that cannot be read (the message names it)",
	"Unauthorized":  "no valid token: get one from POST /api/v1/auth/token",
	"Forbidden":     "the token's role is below the route's x-flowd-role",
	"NotFound":      "no such flow, execution or other named thing",
	"Unprocessable": "the body is well-formed but cannot be used: an invalid script (line, column), invalid inputs (field) or a value out of range",
	"Unavailable":   "the database or Temporal is unreachable; try again after Retry-After seconds",
}

func errorResponse(name string) map[string]any {
	return map[string]any{"$ref": "#/components/responses/" + name}
}

func operationID(method, path string) string {
	id := strings.ToLower(method) + strings.NewReplacer("/api/v1", "", "/", "_", "{", "", "}", "", ".", "_", "*", "").Replace(path)
	return strings.TrimSuffix(id, "_")
}

// openAPIJSON is the document, encoded once.
var openAPIJSON = sync.OnceValue(func() []byte {
	b, err := json.MarshalIndent(openAPIDocument(), "", "  ")
	if err != nil {
		panic(err) // the document is static
	}
	return b
})

// openAPIRoutes serves the document without authentication.
func (s *Server) openAPIRoutes(v1 *echo.Group) {
	v1.GET("/openapi.json", func(c echo.Context) error {
		return c.JSONBlob(http.StatusOK, openAPIJSON())
	})
}
