package api

import (
	"github.com/labstack/echo/v4"
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
		if err := s.scriptError(src.Name, *req.Script); err != nil {
			return err
		}
	}
	exec, err := s.Engine.StartReplay(ctx, src, req.Script, startedBy(c))
	if err != nil {
		return err
	}
	s.auditStart(c, "execution.replay", exec)
	return s.replyStarted(c, exec, wait)
}
