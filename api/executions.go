package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

// getExecution is GET /api/v1/executions/{id}; with ?wait=N it answers once the
// execution ended (200) or after N seconds (202), as starting with ?wait= does.
func (s *Server) getExecution(c echo.Context) error {
	wait, err := parseWait(c)
	if err != nil {
		return err
	}
	if wait > 0 {
		return s.waitAndReply(c, c.Param("id"), wait)
	}
	e, err := s.Store.GetExecution(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

// listExecutions is GET /api/v1/executions with filters and an opaque cursor.
func (s *Server) listExecutions(c echo.Context) error {
	q := c.QueryParams()
	f := engine.ExecutionFilter{
		Flow: q.Get("flow"), Status: engine.Status(q.Get("status")), Type: engine.ExecutionType(q.Get("type")),
		Trigger: engine.Trigger(q.Get("trigger")), ParentID: q.Get("parent_id"), RootID: q.Get("root_id"), Cursor: q.Get("cursor"),
	}
	for key, vals := range q {
		path, ok := strings.CutPrefix(key, "input.")
		if !ok {
			continue
		}
		if len(f.Inputs) == maxInputFilters {
			return engine.Errorf(engine.EUnprocessable, "too many input.* filters: the limit is %d in one request; filter on fewer paths and narrow further with flow, status, since and until", maxInputFilters)
		}
		if !inputPathRE.MatchString(path) {
			return invalid("%s is not a valid input filter: use input.<key>[.<key>...]=<value>, like input.customer=42", shorten(key))
		}
		if f.Inputs == nil {
			f.Inputs = map[string]any{}
		}
		if err := checkJSONDepth(key, []byte(vals[0]), maxFilterDepth); err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal([]byte(vals[0]), &v); err != nil {
			v = vals[0] // not JSON: a string
		}
		f.Inputs[path] = v
	}
	if tl := q.Get("top_level"); tl != "" {
		var err error
		if f.TopLevel, err = strconv.ParseBool(tl); err != nil {
			return invalid("top_level=%q is not true or false", tl)
		}
	}
	if f.Status != "" && !f.Status.Valid() {
		return invalid("status %q is not one of PENDING, RUNNING, WAITING, ENDED_SUCCESS, ENDED_ERROR, ENDED_CANCELLED", f.Status)
	}
	if f.Type != "" && f.Type != engine.TypeFlow && f.Type != engine.TypeConnection {
		return invalid("type %q is not FLOW or CONNECTION", f.Type)
	}
	var err error
	if f.Since, f.Until, f.Limit, err = parseWindow(q); err != nil {
		return err
	}
	items, next, err := s.Store.ListExecutions(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.Execution]{Items: items, NextCursor: next})
}

// An execution list takes at most maxInputFilters input.* filters, each a JSON value
// nested at most maxFilterDepth deep: every filter is a condition of the query, and
// SQLite refuses both long conditions and deep JSON.
const (
	maxInputFilters = 20
	maxFilterDepth  = 32
)

// inputPathRE is a dotted path of plain keys.
var inputPathRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$`)

// parseWindow reads the since, until and limit parameters that the lists share.
func parseWindow(q url.Values) (since, until time.Time, limit int, err error) {
	if since, err = parseTime("since", q.Get("since")); err != nil {
		return
	}
	if until, err = parseTime("until", q.Get("until")); err != nil {
		return
	}
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 {
			return since, until, 0, invalid("limit=%q is not a positive number", l)
		}
	}
	return since, until, limit, nil
}

func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalid("%s=%q is not an RFC 3339 time like 2026-01-02T15:04:05Z", name, v)
	}
	return t, nil
}

func (s *Server) children(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.Store.GetExecution(ctx, c.Param("id")); err != nil {
		return err
	}
	items, err := s.Store.Children(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.Execution]{Items: items})
}

type logsResponse struct {
	Items  []engine.LogLine `json:"items"`
	Status engine.Status    `json:"status"`
}

// logs is GET /api/v1/executions/{id}/logs?after=<seq>.
func (s *Server) logs(c echo.Context) error {
	ctx := c.Request().Context()
	exec, err := s.Store.GetExecution(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	var after int64
	if a := c.QueryParam("after"); a != "" {
		if after, err = strconv.ParseInt(a, 10, 64); err != nil {
			return invalid("after=%q is not a log line number", a)
		}
	}
	if strings.Contains(c.Request().Header.Get("Accept"), "text/event-stream") {
		if id := c.Request().Header.Get("Last-Event-ID"); id != "" {
			if after, err = strconv.ParseInt(id, 10, 64); err != nil {
				return invalid("Last-Event-ID %q is not a log line number", id)
			}
		}
		return s.streamLogs(c, exec, after)
	}
	lines, err := s.Store.Logs(ctx, exec.ID, after, 0)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, logsResponse{Items: lines, Status: exec.Status})
}

// Live log polling: how often the store is asked for new lines, and how often an idle
// stream sends a comment so that proxies keep it open.
const (
	streamPoll      = 200 * time.Millisecond
	streamKeepalive = 15 * time.Second
)

// streamLogs sends the log as server-sent events: "log" events (id = seq, data = the
// line), "status" events when the execution's status or outputs change, and one "end" event
// once it has ended and every line was sent. A client resumes with Last-Event-ID.
func (s *Server) streamLogs(c echo.Context, exec engine.Execution, after int64) error {
	ctx := c.Request().Context()
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event, id string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if id != "" {
			fmt.Fprintf(w, "id: %s\n", id)
		}
		_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
		return err
	}
	status := engine.Status("")
	outputs := "" // a running execution's outputs change at its durable steps
	lastWrite := time.Now()
	for {
		lines, err := s.Store.Logs(ctx, exec.ID, after, 1000)
		if err != nil {
			return send("error", "", errorBody{Error: errorDetail{Code: engine.ErrorCode(err), Message: engine.ErrorMessage(err)}})
		}
		for _, l := range lines {
			if err := send("log", strconv.FormatInt(l.Seq, 10), l); err != nil {
				return nil // the client went away
			}
			after = l.Seq
		}
		if len(lines) == 1000 {
			w.Flush()
			continue // more lines are waiting: no pause
		}
		// Read the status after the lines: an execution that ended before this read has
		// all its lines stored already.
		cur, err := s.Store.GetExecution(ctx, exec.ID)
		if err != nil {
			return send("error", "", errorBody{Error: errorDetail{Code: engine.ErrorCode(err), Message: engine.ErrorMessage(err)}})
		}
		if cur.Status != status || string(cur.Outputs) != outputs {
			status, outputs = cur.Status, string(cur.Outputs)
			if err := send("status", "", cur); err != nil {
				return nil
			}
		}
		if cur.Status.Ended() {
			if rest, err := s.Store.Logs(ctx, exec.ID, after, 1000); err == nil && len(rest) > 0 {
				continue // lines written together with the end
			}
			_ = send("end", "", cur)
			w.Flush()
			return nil
		}
		if time.Since(lastWrite) > streamKeepalive {
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return nil
			}
			lastWrite = time.Now()
		}
		w.Flush()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(streamPoll):
		}
	}
}

// cancel is POST /api/v1/executions/{id}/cancel: 202 with the execution, which ends
// ENDED_CANCELLED once its script's finally blocks and running calls have stopped.
func (s *Server) cancel(c echo.Context) error {
	exec, err := s.Engine.Cancel(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	s.audit(c, "execution.cancel", "execution", exec.ID, map[string]any{"flow": exec.Name})
	return c.JSON(http.StatusAccepted, exec)
}
