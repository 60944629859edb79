package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

// scheduleRoutes adds the schedule routes: reading needs viewer, changing editor.
// A schedule is paused with PUT and "enabled": false.
func (s *Server) scheduleRoutes(authed *echo.Group) {
	viewer, editor := require(engine.RoleViewer), require(engine.RoleEditor)
	authed.GET("/schedules", s.listSchedules, viewer)
	authed.GET("/schedules/:name", s.getSchedule, viewer)
	authed.PUT("/schedules/:name", s.putSchedule, editor)
	authed.DELETE("/schedules/:name", s.deleteSchedule, editor)
}

// scheduleView is a schedule with what Temporal reports about it (GET of one and PUT);
// Warning says why that report is missing.
type scheduleView struct {
	engine.Schedule
	*engine.ScheduleInfo
	Warning string `json:"warning,omitempty"`
}

func (s *Server) scheduleStore() (engine.ScheduleStore, error) {
	if s.Schedules == nil {
		return nil, engine.Errorf(engine.EUnavailable, "schedules are not available on this server")
	}
	return s.Schedules, nil
}

func (s *Server) listSchedules(c echo.Context) error {
	st, err := s.scheduleStore()
	if err != nil {
		return err
	}
	items, err := st.ListSchedules(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.Schedule]{Items: items})
}

func (s *Server) getSchedule(c echo.Context) error {
	st, err := s.scheduleStore()
	if err != nil {
		return err
	}
	sc, err := st.GetSchedule(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.describe(c, sc))
}

// describe adds Temporal's report to a schedule, or a warning when there is none.
func (s *Server) describe(c echo.Context, sc engine.Schedule) scheduleView {
	v := scheduleView{Schedule: sc}
	info, err := s.Engine.DescribeSchedule(c.Request().Context(), sc.Name)
	if err != nil {
		v.Warning = engine.ErrorMessage(err)
		return v
	}
	v.ScheduleInfo = &info
	return v
}

type putScheduleRequest struct {
	Flow     string          `json:"flow"`
	Cron     string          `json:"cron"`
	Inputs   json.RawMessage `json:"inputs"`
	Enabled  *bool           `json:"enabled"`
	Timezone string          `json:"timezone"`
	Overlap  string          `json:"overlap"`
}

// putSchedule creates or replaces a schedule: first its Temporal Schedule (which
// checks the cron expression and time zone), then the record the API lists.
func (s *Server) putSchedule(c echo.Context) error {
	st, err := s.scheduleStore()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	name := c.Param("name")
	if err := validName("schedule", name); err != nil {
		return err
	}
	var req putScheduleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Flow == "" {
		return invalid(`the body needs "flow": the name of the flow the schedule runs`)
	}
	if err := engine.CheckCron(req.Cron); err != nil {
		return err
	}
	if req.Overlap == "" {
		req.Overlap = "skip"
	}
	if _, ok := engine.OverlapPolicies[req.Overlap]; !ok {
		return invalid("overlap %q is not one of %s", req.Overlap, engine.OverlapPolicyNames())
	}
	if req.Timezone != "" {
		if _, err := time.LoadLocation(req.Timezone); err != nil {
			return invalid("timezone %q is not a known IANA time zone; use a name like Europe/Paris or America/New_York, or leave it out for UTC", req.Timezone)
		}
	}
	inputs := json.RawMessage("{}")
	var m map[string]any
	if len(req.Inputs) > 0 && string(req.Inputs) != "null" {
		if err := json.Unmarshal(req.Inputs, &m); err != nil || m == nil {
			return invalid(`"inputs" must be a JSON object, like {"inputs": {"customer": 42}}`)
		}
		inputs = req.Inputs
	}
	flow, err := s.Store.GetFlow(ctx, req.Flow)
	if err != nil {
		if engine.ErrorCode(err) == engine.ENotFound {
			return engine.Errorf(engine.EUnprocessable, "flow %q does not exist; save it first with PUT /api/v1/flows/%s", req.Flow, req.Flow)
		}
		return err
	}
	// Checked now, so that a schedule is not saved to fail at every run; each run
	// checks again, against the flow's inputs_schema of the day.
	if _, err := engine.CheckInputs(flow.Name, flow.InputsSchema, m); err != nil {
		return err
	}
	sc := engine.Schedule{Name: name, Flow: req.Flow, Cron: req.Cron, Inputs: inputs, Enabled: req.Enabled == nil || *req.Enabled,
		Timezone: req.Timezone, Overlap: req.Overlap}
	if err := s.Engine.ApplySchedule(ctx, sc); err != nil {
		return err
	}
	saved, created, err := st.PutSchedule(ctx, sc)
	if err != nil {
		return err
	}
	s.audit(c, "schedule.save", "schedule", name, map[string]any{"created": created, "flow": sc.Flow, "cron": sc.Cron, "enabled": sc.Enabled})
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, s.describe(c, saved))
}

// deleteSchedule deletes the Temporal Schedule, then the record; runs it started go on.
func (s *Server) deleteSchedule(c echo.Context) error {
	st, err := s.scheduleStore()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	name := c.Param("name")
	if _, err := st.GetSchedule(ctx, name); err != nil {
		return err
	}
	if err := s.Engine.RemoveSchedule(ctx, name); err != nil {
		return err
	}
	if err := st.DeleteSchedule(ctx, name); err != nil {
		return err
	}
	s.audit(c, "schedule.delete", "schedule", name, nil)
	return c.NoContent(http.StatusNoContent)
}
