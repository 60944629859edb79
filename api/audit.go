package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

// The audit log records who changed and ran what (docs/audit.md). Handlers call
// s.audit after a change succeeded, never before: a refused request (401, 403, 4xx)
// records nothing, except a failed sign-in, which the sign-in handler records as
// session.login_failed.
//
// An entry is written after the change, outside its transaction (the stores of
// flows, connectors, settings and users are separate). Should that write fail, the
// change stands and the request succeeds: the failure is logged at level ERROR with
// the whole entry, so that an operator can restore it, and counted in
// flowd_audit_write_failures_total, to alert on. Failing the request instead would
// tell the caller a change failed that was made. A scheduled run's start, which no
// request makes, is written in the transaction that records the execution
// (engine.Activities.BeginScheduled).

// auditWriteTimeout bounds an audit write, which runs even when the caller has gone.
const auditWriteTimeout = 5 * time.Second

// audit records that the request's principal did action to target (of targetType)
// from the request's address; detail holds more (never a secret value). It never
// fails the request: see above.
func (s *Server) audit(c echo.Context, action, targetType, target string, detail map[string]any) {
	actor, kind := "anonymous", "anonymous"
	if p, ok := principalOf(c); ok {
		actor, kind = p.String(), string(p.Kind)
	}
	s.auditAs(c, actor, kind, action, targetType, target, detail)
}

// auditAs is audit for an actor that is not the request's principal, as
// "webhook:<name>" for a webhook call.
func (s *Server) auditAs(c echo.Context, actor, kind, action, targetType, target string, detail map[string]any) {
	e := engine.AuditEntry{At: time.Now().UTC(), Actor: actor, ActorKind: kind, Action: action, TargetType: targetType, Target: target,
		Address: c.RealIP(), Detail: engine.AuditDetail(detail)}
	log := s.auditLog()
	if log == nil {
		s.Log.Error("audit entry not written: this server has no audit log", "action", action, "actor", actor, "target", target)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), auditWriteTimeout)
	defer cancel()
	if err := log.WriteAudit(ctx, e); err != nil {
		s.Log.Error("audit entry not written; the change it records was made", "error", err,
			"at", e.At, "actor", e.Actor, "action", e.Action, "target_type", e.TargetType, "target", e.Target, "address", e.Address, "detail", string(e.Detail))
		if s.Metrics != nil {
			s.Metrics.auditFailures.Inc()
		}
	}
}

// auditLog is Server.Audit, or the store when it keeps the audit log too.
func (s *Server) auditLog() engine.AuditLog {
	if s.Audit != nil {
		return s.Audit
	}
	al, _ := s.Store.(engine.AuditLog)
	return al
}

// startedBy is the started_by of an execution the request starts.
func startedBy(c echo.Context) string {
	if p, ok := principalOf(c); ok {
		return p.String()
	}
	return ""
}

// auditStart records an execution's start (execution.start, .draft_run, .rerun,
// .replay) with the flow and the execution it came from.
func (s *Server) auditStart(c echo.Context, action string, exec engine.Execution) {
	detail := map[string]any{"flow": exec.Name, "trigger": exec.Trigger}
	if exec.RerunOf != nil {
		detail["rerun_of"] = *exec.RerunOf
	}
	if exec.ReplayOf != nil {
		detail["replay_of"] = *exec.ReplayOf
	}
	s.audit(c, action, "execution", exec.ID, detail)
}

func (s *Server) auditRoutes(authed *echo.Group) {
	authed.GET("/audit", s.listAudit, require(engine.RoleAdmin))
}

// listAudit is GET /api/v1/audit (admin): entries newest first, with filters and an
// opaque cursor as GET /api/v1/executions.
func (s *Server) listAudit(c echo.Context) error {
	log := s.auditLog()
	if log == nil {
		return engine.Errorf(engine.EUnavailable, "this server keeps no audit log")
	}
	q := c.QueryParams()
	f := engine.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"), Cursor: q.Get("cursor")}
	var err error
	if f.Since, f.Until, f.Limit, err = parseWindow(q); err != nil {
		return err
	}
	items, next, err := log.ListAudit(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.AuditEntry]{Items: items, NextCursor: next})
}
