package api

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

// Webhooks: another system starts a flow with any HTTP method on
// /api/v1/webhooks/{name}/call and the webhook's key, without an API client. The flow
// gets the request as data (inputs = {method, path, headers, query, body, json}; the
// body is never evaluated) and its outputs become the reply.
//
// An unknown webhook, a disabled one and a wrong key all get the same 404 with the
// same message, after the same work (a hash compared in constant time), so that a
// caller without the key learns nothing, not even whether the name exists. 404 rather
// than 401: there is no credential scheme a client could retry with, and a scanner sees
// what it sees for any unknown path.

const (
	// maxWebhookBody bounds a call's body. The body travels twice in the flow's
	// inputs (as text and parsed JSON) within Temporal's 2 MB payload limit, beside a
	// script of up to 512 KiB.
	maxWebhookBody = 256 << 10
	// DefaultWebhookWait is how long a synchronous call waits for the flow to end
	// before it answers 202 with the execution id.
	DefaultWebhookWait = 30 * time.Second
	// minWebhookKey is the shortest key an editor may choose.
	minWebhookKey = 16
	// webhookKeyHeader carries the key when it is not in ?key=.
	webhookKeyHeader = "X-Flowd-Key"
)

// webhookRoutes adds the webhook management routes (editor) and the call route (no
// JWT: the webhook's key authenticates).
func (s *Server) webhookRoutes(v1, authed *echo.Group) {
	editor := require(engine.RoleEditor)
	authed.GET("/webhooks", s.listWebhooks, editor)
	authed.GET("/webhooks/:name", s.getWebhook, editor)
	authed.PUT("/webhooks/:name", s.putWebhook, editor)
	authed.DELETE("/webhooks/:name", s.deleteWebhook, editor)
	v1.Any("/webhooks/:name/call", s.callWebhook)
}

// webhookView is a webhook as the API shows it. Key is set only in the answer to the
// PUT that generated it: flowd stores only its hash.
type webhookView struct {
	engine.Webhook
	URL string `json:"url"`
	Key string `json:"key,omitempty"`
}

func viewWebhook(w engine.Webhook) webhookView {
	return webhookView{Webhook: w, URL: "/api/v1/webhooks/" + w.Name + "/call"}
}

func (s *Server) webhookStore() (engine.WebhookStore, error) {
	if s.Webhooks == nil {
		return nil, engine.Errorf(engine.EUnavailable, "webhooks are not available on this server")
	}
	return s.Webhooks, nil
}

func (s *Server) listWebhooks(c echo.Context) error {
	st, err := s.webhookStore()
	if err != nil {
		return err
	}
	hooks, err := st.ListWebhooks(c.Request().Context())
	if err != nil {
		return err
	}
	items := make([]webhookView, len(hooks))
	for i, w := range hooks {
		items[i] = viewWebhook(w)
	}
	return c.JSON(http.StatusOK, listResponse[webhookView]{Items: items})
}

func (s *Server) getWebhook(c echo.Context) error {
	st, err := s.webhookStore()
	if err != nil {
		return err
	}
	w, err := st.GetWebhook(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewWebhook(w))
}

type putWebhookRequest struct {
	Flow    string  `json:"flow"`
	Key     *string `json:"key"`
	Enabled *bool   `json:"enabled"`
}

// putWebhook creates or replaces a webhook. Without "key", a new webhook gets a
// generated key (returned this once) and an existing one keeps its key.
func (s *Server) putWebhook(c echo.Context) error {
	st, err := s.webhookStore()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	name := c.Param("name")
	if err := validName("webhook", name); err != nil {
		return err
	}
	var req putWebhookRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Flow == "" {
		return invalid(`the body needs "flow": the name of the flow the webhook runs`)
	}
	if _, err := s.Store.GetFlow(ctx, req.Flow); err != nil {
		if engine.ErrorCode(err) == engine.ENotFound {
			return engine.Errorf(engine.EUnprocessable, "flow %q does not exist; save it first with PUT /api/v1/flows/%s", req.Flow, req.Flow)
		}
		return err
	}
	w := engine.Webhook{Name: name, Flow: req.Flow, Enabled: req.Enabled == nil || *req.Enabled}
	generated := ""
	switch {
	case req.Key != nil:
		if len(*req.Key) < minWebhookKey {
			return invalid("key must be at least %d characters; leave \"key\" out and flowd generates a strong one", minWebhookKey)
		}
		w.KeyHash = HashSecret(*req.Key)
	default:
		prev, err := st.GetWebhook(ctx, name)
		switch {
		case err == nil:
			w.KeyHash = prev.KeyHash
		case engine.ErrorCode(err) == engine.ENotFound:
			generated = NewSecret()
			w.KeyHash = HashSecret(generated)
		default:
			return err
		}
	}
	saved, created, err := st.PutWebhook(ctx, w)
	if err != nil {
		return err
	}
	// Never the key: whether it changed is enough.
	s.audit(c, "webhook.save", "webhook", name, map[string]any{"created": created, "flow": w.Flow, "enabled": w.Enabled, "key_changed": req.Key != nil || generated != ""})
	v := viewWebhook(saved)
	v.Key = generated
	if created {
		return c.JSON(http.StatusCreated, v)
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) deleteWebhook(c echo.Context) error {
	st, err := s.webhookStore()
	if err != nil {
		return err
	}
	if err := st.DeleteWebhook(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	s.audit(c, "webhook.delete", "webhook", c.Param("name"), nil)
	return c.NoContent(http.StatusNoContent)
}

// errNoWebhook answers an unknown or disabled webhook and a wrong key alike.
func errNoWebhook(name string) error {
	return engine.Errorf(engine.ENotFound, "no enabled webhook %q with this key; check the URL and the key (?key= or the %s header)", name, webhookKeyHeader)
}

// callWebhook runs the webhook's flow with the request as its inputs. It answers
// with the flow's reply once the flow ended, or 202 with the execution id after the
// wait (?wait=<seconds>, default the server's WebhookWait) or at once with ?async=1.
func (s *Server) callWebhook(c echo.Context) error {
	st, err := s.webhookStore()
	if err != nil {
		return err
	}
	req := c.Request()
	ctx := req.Context()
	name := c.Param("name")
	// A name no webhook can have is refused before any lookup or counting, so that
	// what a caller without a key sends leaves nothing behind.
	if validName("webhook", name) != nil {
		return engine.Errorf(engine.ENotFound, "no webhook has this name: webhook names are 1-128 letters, digits, '_', '-' or '.'; check the URL")
	}
	// Wrong keys for one webhook name are limited per address like failed sign-ins,
	// so that a key cannot be guessed; unknown and disabled webhooks count the same.
	limitKey := failKey{addr: clientAddr(c), webhook: name}
	if s.Auth != nil && s.Auth.limited(limitKey) {
		return engine.Errorf(engine.ERateLimited, "too many webhook calls with a wrong key from this address; wait a minute and check the key")
	}
	key := c.QueryParam("key")
	if key == "" {
		key = req.Header.Get(webhookKeyHeader)
	}
	hook, err := st.GetWebhook(ctx, name)
	if err != nil && engine.ErrorCode(err) != engine.ENotFound {
		return err
	}
	// Compare even for an unknown webhook, so that timing does not tell names apart.
	want := hook.KeyHash
	if want == "" {
		want = HashSecret("no such webhook")
	}
	match := subtle.ConstantTimeCompare([]byte(HashSecret(key)), []byte(want)) == 1
	if !match || err != nil || !hook.Enabled || key == "" {
		if s.Auth != nil {
			s.Auth.fail(limitKey)
		}
		return errNoWebhook(name)
	}

	async, _ := strconv.ParseBool(c.QueryParam("async"))
	wait := s.WebhookWait
	if wait <= 0 {
		wait = DefaultWebhookWait
	}
	if c.QueryParam("wait") != "" {
		if wait, err = parseWait(c); err != nil {
			return err
		}
	}
	inputs, err := webhookInputs(req)
	if err != nil {
		return err
	}
	by := "webhook:" + name
	exec, err := s.Engine.StartFlow(ctx, hook.Flow, inputs, engine.TriggerWebhook, by)
	if err != nil {
		if engine.ErrorCode(err) == engine.ENotFound {
			s.Log.Warn("webhook runs a flow that does not exist", "webhook", name, "flow", hook.Flow)
			return engine.Errorf(engine.EUnavailable, "webhook %q cannot run its flow now; the operator has been told", name)
		}
		return err
	}
	s.auditAs(c, by, "webhook", "execution.start", "execution", exec.ID, map[string]any{"flow": exec.Name, "trigger": exec.Trigger})
	c.Response().Header().Set("X-Flowd-Execution-Id", exec.ID)
	if async || wait <= 0 {
		return accepted(c, exec)
	}
	exec, ended, err := s.Engine.Wait(ctx, exec.ID, wait)
	if err != nil {
		return err
	}
	if !ended {
		return accepted(c, exec)
	}
	return s.webhookReply(c, name, exec)
}

// accepted answers 202 with where to follow a running execution.
func accepted(c echo.Context, exec engine.Execution) error {
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/executions/"+exec.ID)
	return c.JSON(http.StatusAccepted, map[string]any{"execution_id": exec.ID, "status": exec.Status})
}

// webhookInputs turns the request into the flow's inputs. The key is left out of
// headers and query, and credential headers are redacted, so that neither is stored
// with the execution.
func webhookInputs(req *http.Request) (map[string]any, error) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxWebhookBody+1))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, echo.ErrStatusRequestEntityTooLarge
		}
		return nil, invalid("could not read the request body: %v", err)
	}
	if len(body) > maxWebhookBody {
		return nil, echo.ErrStatusRequestEntityTooLarge // the limit is maxWebhookBody
	}
	headers := map[string]any{}
	for k, v := range req.Header {
		if strings.EqualFold(k, webhookKeyHeader) {
			continue
		}
		lk := strings.ToLower(k)
		if lk == "authorization" || lk == "proxy-authorization" || lk == "cookie" {
			// Credentials of the caller are stored with the execution, which viewers
			// read: keep that they were sent, not their value. The hook's key is the
			// authentication of a webhook call.
			headers[lk] = "[redacted]"
			continue
		}
		headers[lk] = strings.Join(v, ", ")
	}
	if req.Host != "" {
		headers["host"] = req.Host
	}
	query := map[string]any{}
	for k, v := range req.URL.Query() {
		if k == "key" {
			continue
		}
		if len(v) == 1 {
			query[k] = v[0]
		} else {
			query[k] = v
		}
	}
	in := map[string]any{"method": req.Method, "path": req.URL.Path, "headers": headers, "query": query, "body": string(body), "json": nil}
	if !utf8.Valid(body) {
		in["body"], in["body_encoding"] = base64.StdEncoding.EncodeToString(body), "base64"
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType)); err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		var v any
		if checkJSONDepth("the body", body, maxBodyDepth) == nil && json.Unmarshal(body, &v) == nil {
			in["json"] = v // stays null when the body is not JSON after all, or nested too deep
		}
	}
	return in, nil
}

// headerNameRE is an HTTP header name (RFC 9110 token).
var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// hopHeaders are set by the server, never by a flow's reply.
var hopHeaders = map[string]bool{"connection": true, "content-length": true, "transfer-encoding": true, "keep-alive": true,
	"upgrade": true, "te": true, "trailer": true, "proxy-connection": true}

// webhookReply answers with an ended execution: its outputs status_code, headers and
// body when the flow set them, otherwise its outputs as JSON. A flow that failed
// without setting status_code gets a 500 that names the execution but not the error,
// which may hold details meant for the flow's authors only. The reply comes from the
// web UI's origin, so what could act for that origin is not the flow's to set (see
// replyHeaderAllowed and replyContentType); the server's security headers stay.
func (s *Server) webhookReply(c echo.Context, name string, exec engine.Execution) error {
	out := map[string]any{}
	_ = json.Unmarshal(exec.Outputs, &out)
	code, hasCode := out["status_code"]
	hdrs, hasHeaders := out["headers"]
	body, hasBody := out["body"]
	if exec.Status != engine.StatusEndedSuccess && !hasCode {
		return webhookFailure(c, exec, "flow_failed", fmt.Sprintf("the flow ended %s; look up execution %s in flowd", exec.Status, exec.ID))
	}
	status := http.StatusOK
	if hasCode {
		n, ok := code.(float64)
		if !ok || n != float64(int(n)) || n < 200 || n > 599 {
			return webhookFailure(c, exec, "bad_reply", fmt.Sprintf("the flow set status_code to %v; it must be a number from 200 to 599", code))
		}
		status = int(n)
	}
	if hasHeaders {
		m, ok := hdrs.(map[string]any)
		if !ok {
			return webhookFailure(c, exec, "bad_reply", `the flow set headers to something other than an object like {"X-Name": "value"}`)
		}
		// Checked in full before any is set, so that a failure is not sent with a
		// Content-Type the flow chose.
		set := http.Header{}
		var dropped []string
		for k, v := range m {
			val := fmt.Sprint(v)
			if str, ok := v.(string); ok {
				val = str
			}
			if !headerNameRE.MatchString(k) || strings.ContainsAny(val, "\r\n\x00") {
				return webhookFailure(c, exec, "bad_reply", fmt.Sprintf("the flow set header %q to a value that is not valid in HTTP", k))
			}
			switch lk := strings.ToLower(k); {
			case hopHeaders[lk]:
			case !replyHeaderAllowed(lk):
				dropped = append(dropped, k)
			default:
				set.Set(k, val)
			}
		}
		if ct := set.Get(echo.HeaderContentType); ct != "" && !replyContentType(ct) {
			dropped = append(dropped, echo.HeaderContentType+": "+ct)
			set.Set(echo.HeaderContentType, echo.MIMETextPlainCharsetUTF8)
		}
		if len(dropped) > 0 {
			s.Log.Warn("a webhook's flow set reply headers that flowd does not send from the web UI's origin; they were left out (see docs/deployment-security.md)",
				"webhook", name, "execution", exec.ID, "headers", dropped)
		}
		h := c.Response().Header()
		for k, v := range set {
			h[k] = v
		}
	}
	if !hasBody {
		if !hasCode && !hasHeaders {
			body = out
		} else {
			rest := map[string]any{}
			for k, v := range out {
				if k != "status_code" && k != "headers" {
					rest[k] = v
				}
			}
			body = rest
		}
	}
	// Blob keeps a Content-Type the flow set.
	if text, ok := body.(string); ok {
		return c.Blob(status, echo.MIMETextPlainCharsetUTF8, []byte(text))
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.Blob(status, echo.MIMEApplicationJSON, data)
}

// webhookFailure answers 500 for a flow that did not give a usable reply.
func webhookFailure(c echo.Context, exec engine.Execution, code, msg string) error {
	return c.JSON(http.StatusInternalServerError, map[string]any{"error": map[string]any{"code": code, "message": msg, "execution_id": exec.ID}})
}
