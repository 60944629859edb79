package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

func (s *Server) getExecution(c echo.Context) error {
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
	if f.Status != "" && !f.Status.Valid() {
		return invalid("status %q is not one of PENDING, RUNNING, WAITING, ENDED_SUCCESS, ENDED_ERROR, ENDED_CANCELLED", f.Status)
	}
	if f.Type != "" && f.Type != engine.TypeFlow && f.Type != engine.TypeConnection {
		return invalid("type %q is not FLOW or CONNECTION", f.Type)
	}
	var err error
	if f.Since, err = parseTime("since", q.Get("since")); err != nil {
		return err
	}
	if f.Until, err = parseTime("until", q.Get("until")); err != nil {
		return err
	}
	if l := q.Get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil || f.Limit < 1 {
			return invalid("limit=%q is not a positive number", l)
		}
	}
	items, next, err := s.Store.ListExecutions(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.Execution]{Items: items, NextCursor: next})
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
	lines, err := s.Store.Logs(ctx, exec.ID, after, 0)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, logsResponse{Items: lines, Status: exec.Status})
}
