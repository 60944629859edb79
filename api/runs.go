package api

import (
	"encoding/json"
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/scripting"
)

// The flow author's loop: run a draft without saving it, run an execution again.

type draftRunRequest struct {
	Script *string         `json:"script"`
	Inputs json.RawMessage `json:"inputs"`
	// InputsSchema, when set, checks the inputs instead of the saved flow's (a
	// draft of the schema beside the draft of the script).
	InputsSchema json.RawMessage `json:"inputs_schema"`
}

// draftRun runs an unsaved script of a saved flow (editor role): the script passes
// the checks of a save first, and no revision is created. ?wait= as for startFlow.
func (s *Server) draftRun(c echo.Context) error {
	name := c.Param("name")
	if err := validName("flow", name); err != nil {
		return err
	}
	var req draftRunRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Script == nil {
		return invalid(`the body needs "script": the draft's JavaScript source, and may have "inputs"`)
	}
	inputs, err := inputsObject(req.Inputs)
	if err != nil {
		return err
	}
	wait, err := parseWait(c)
	if err != nil {
		return err
	}
	if err := s.scriptError(name, *req.Script); err != nil {
		return err
	}
	if err := engine.CheckInputsSchema(req.InputsSchema); err != nil {
		return err
	}
	exec, err := s.Engine.StartDraft(c.Request().Context(), name, *req.Script, req.InputsSchema, inputs, startedBy(c))
	if err != nil {
		return err
	}
	s.auditStart(c, "execution.draft_run", exec)
	return s.replyStarted(c, exec, wait)
}

type rerunRequest struct {
	// Revision is "latest" (the default) or "same".
	Revision string `json:"revision"`
}

// rerun starts a FLOW execution again with its inputs (runner role). ?wait= as for
// startFlow.
func (s *Server) rerun(c echo.Context) error {
	var req rerunRequest
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	wait, err := parseWait(c)
	if err != nil {
		return err
	}
	exec, err := s.Engine.Rerun(c.Request().Context(), c.Param("id"), req.Revision, startedBy(c))
	if err != nil {
		return err
	}
	s.auditStart(c, "execution.rerun", exec)
	return s.replyStarted(c, exec, wait)
}

// inputsObject reads "inputs" of a request body: absent or null is none, anything
// but an object is refused.
func inputsObject(raw json.RawMessage) (map[string]any, error) {
	var inputs map[string]any
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &inputs); err != nil || inputs == nil {
			return nil, invalid(`"inputs" must be a JSON object, like {"inputs": {"customer": 42}}`)
		}
	}
	return inputs, nil
}

// scriptError runs the save-time checks of a script and returns their refusal as
// the 422 a save answers, with the line and column.
func (s *Server) scriptError(name, src string) error {
	if err := s.checkScript(name, src); err != nil {
		var se *scripting.ScriptError
		if errors.As(err, &se) {
			return &engine.Error{Code: engine.EInvalidScript, Message: se.Error(), Line: se.Line, Column: se.Column}
		}
		return err
	}
	return nil
}
