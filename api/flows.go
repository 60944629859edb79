package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/scripting"
)

// validName checks a name as the engine does for what flows store (engine.ValidName).
func validName(kind, name string) error { return engine.ValidName(kind, name) }

type listResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func (s *Server) listFlows(c echo.Context) error {
	flows, err := s.Store.ListFlows(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.Flow]{Items: flows})
}

func (s *Server) getFlow(c echo.Context) error {
	f, err := s.Store.GetFlow(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}

type putFlowRequest struct {
	Script      *string `json:"script"`
	Description string  `json:"description"`
	// MaxRuntime is the maximum runtime of each execution in seconds (0: the
	// server's --max-runtime).
	// Left out, it keeps the flow's current value.
	MaxRuntime *int `json:"max_runtime"`
	// InputsSchema is the JSON Schema of the flow's inputs (engine.CheckInputsSchema);
	// left out, it keeps the flow's current one; null removes it.
	InputsSchema json.RawMessage `json:"inputs_schema"`
}

// putFlow saves a flow after checking that its script compiles and has a handler.
func (s *Server) putFlow(c echo.Context) error {
	name := c.Param("name")
	if err := validName("flow", name); err != nil {
		return err
	}
	var req putFlowRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Script == nil {
		return invalid(`the body needs "script": the flow's JavaScript source`)
	}
	// The checks compile the script and refuse {secret: NAME} and text grant names in
	// code (data now: better refused than sent where the author meant a value).
	if err := s.scriptError(name, *req.Script); err != nil {
		return err
	}
	if err := engine.CheckInputsSchema(req.InputsSchema); err != nil {
		return err
	}
	cur, getErr := s.Store.GetFlow(c.Request().Context(), name)
	schema := cur.InputsSchema
	if req.InputsSchema != nil {
		schema = req.InputsSchema
	}
	maxRuntime := cur.MaxRuntime
	if req.MaxRuntime != nil {
		if *req.MaxRuntime < 0 {
			return invalid("max_runtime must be a number of seconds, 0 for the server's default")
		}
		maxRuntime = *req.MaxRuntime
	}
	f, err := s.Store.SaveFlow(c.Request().Context(), name, *req.Script, req.Description, maxRuntime, schema, startedBy(c))
	if err != nil {
		return err
	}
	s.audit(c, "flow.save", "flow", name, map[string]any{"revision": f.Revision})
	status := http.StatusOK
	if getErr != nil { // it did not exist
		status = http.StatusCreated
	}
	return c.JSON(status, f)
}

func (s *Server) deleteFlow(c echo.Context) error {
	if err := s.Store.DeleteFlow(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	s.audit(c, "flow.delete", "flow", c.Param("name"), nil)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) flowRevisions(c echo.Context) error {
	revs, err := s.Store.FlowRevisions(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.FlowRevision]{Items: revs})
}

type startRequest struct {
	Inputs json.RawMessage `json:"inputs"`
}

// maxWait bounds ?wait=, so that a client cannot hold a connection open forever.
const maxWait = 300

// startFlow starts a flow; with ?wait=N it answers when the execution ends (200) or
// after N seconds (202 with the running execution).
func (s *Server) startFlow(c echo.Context) error {
	var req startRequest
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	var inputs map[string]any
	if len(req.Inputs) > 0 && string(req.Inputs) != "null" {
		if err := json.Unmarshal(req.Inputs, &inputs); err != nil || inputs == nil {
			return invalid(`"inputs" must be a JSON object, like {"inputs": {"customer": 42}}`)
		}
	}
	wait, err := parseWait(c)
	if err != nil {
		return err
	}
	exec, err := s.Engine.StartFlow(c.Request().Context(), c.Param("name"), inputs, engine.TriggerAPI, startedBy(c))
	if err != nil {
		return err
	}
	s.auditStart(c, "execution.start", exec)
	return s.replyStarted(c, exec, wait)
}

// replyStarted answers a start: 201 with the new execution, or with ?wait= (wait > 0)
// as waitAndReply does.
func (s *Server) replyStarted(c echo.Context, exec engine.Execution, wait time.Duration) error {
	if wait <= 0 {
		return c.JSON(http.StatusCreated, exec)
	}
	return s.waitAndReply(c, exec.ID, wait)
}

// parseWait reads ?wait=<seconds>, bounded by maxWait.
func parseWait(c echo.Context) (time.Duration, error) {
	w := c.QueryParam("wait")
	if w == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(w, 64)
	if err != nil || v < 0 {
		return 0, invalid("wait=%q is not a number of seconds", w)
	}
	return time.Duration(min(v, maxWait) * float64(time.Second)), nil
}

// waitAndReply answers 200 with the execution once it ended, or 202 with it as it is
// after wait.
func (s *Server) waitAndReply(c echo.Context, id string, wait time.Duration) error {
	exec, ended, err := s.Engine.Wait(c.Request().Context(), id, wait)
	if err != nil {
		return err
	}
	if ended {
		return c.JSON(http.StatusOK, exec)
	}
	return c.JSON(http.StatusAccepted, exec)
}

// decodeJSON decodes the body strictly enough to give a useful message.
// A body nested deeper than maxBodyDepth is refused (checkJSONDepth).
func decodeJSON(c echo.Context, v any) error {
	raw, err := io.ReadAll(c.Request().Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return echo.ErrStatusRequestEntityTooLarge
	}
	if err != nil {
		return invalid("the body could not be read: %v", err)
	}
	if err := checkJSONDepth("the body", raw, maxBodyDepth); err != nil {
		return err
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(v); err != nil {
		return invalid("the body is not valid JSON: %v", err)
	}
	return nil
}

// checkScript runs the save-time checks of a script (scripting.CheckScript) in a
// sandbox process when the server has one, bounded in time and memory.
func (s *Server) checkScript(name, src string) error {
	if s.Scripts == nil {
		return scripting.CheckScript(name, src)
	}
	return s.Scripts.Check(name, src)
}
