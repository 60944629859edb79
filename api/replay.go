package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/scripting"
)

type replayRequest struct {
	// Script is the script to replay; nil replays the flow's latest revision.
	Script *string `json:"script"`
}

// replayExecution is POST /api/v1/executions/{id}/replay: it runs a script against
// what an ended execution recorded (engine/replay.go) and answers 201 with the
// replay, or with ?wait=N as starting a flow does.
func (s *Server) replayExecution(c echo.Context) error {
	var req replayRequest
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	wait, err := parseWait(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	src, err := s.Engine.ReplaySource(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if req.Script != nil {
		// The same checks as a save: a replay runs the script as a run would.
		if err := s.checkScript(src.Name, *req.Script); err != nil {
			var se *scripting.ScriptError
			if errors.As(err, &se) {
				return &engine.Error{Code: engine.EInvalidScript, Message: se.Error(), Line: se.Line, Column: se.Column}
			}
			return err
		}
	}
	exec, err := s.Engine.StartReplay(ctx, src, req.Script)
	if err != nil {
		return err
	}
	if wait <= 0 {
		return c.JSON(http.StatusCreated, exec)
	}
	return s.waitAndReply(c, exec.ID, wait)
}
