package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Schedules run flows through Temporal Schedules. The Schedule's action starts the flow
// workflow with a FlowInput that has Trigger schedule and no ExecutionID: no API call
// created a PENDING row for it, so the workflow's first step (beginScheduled, a local
// activity) picks the flow's latest revision and creates the row, with the workflow id
// (the Schedule's id plus the scheduled time, set by Temporal) as the execution id.
// Cancel and ?wait= then work on scheduled runs as on any other.

// activityBeginScheduled is part of recorded histories: never rename it.
const activityBeginScheduled = "flowd.BeginScheduled"

// scheduleIDPrefix prefixes the Temporal Schedule id of a flowd schedule, and so the
// workflow (and execution) ids of its runs: "flowd-schedule-nightly-2026-01-02T03:00:00Z".
const scheduleIDPrefix = "flowd-schedule-"

// OverlapPolicies are the values of Schedule.Overlap.
var OverlapPolicies = map[string]enumspb.ScheduleOverlapPolicy{
	"skip":            enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	"buffer_one":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	"buffer_all":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	"cancel_other":    enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
	"terminate_other": enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
	"allow_all":       enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}

// OverlapPolicyNames lists the keys of OverlapPolicies for error messages.
func OverlapPolicyNames() string {
	names := make([]string, 0, len(OverlapPolicies))
	for k := range OverlapPolicies {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// CheckCron refuses cron expressions whose meaning would surprise: Temporal reads six
// fields as minute..weekday plus a year, while most cron dialects with six fields put
// seconds first. It returns an EInvalid error that says what to write instead.
func CheckCron(expr string) error {
	c := strings.TrimSpace(expr)
	if strings.HasPrefix(c, "TZ=") || strings.HasPrefix(c, "CRON_TZ=") {
		_, c, _ = strings.Cut(c, " ")
	}
	c, _, _ = strings.Cut(c, "#")
	c = strings.TrimSpace(c)
	if c == "" {
		return Errorf(EInvalid, `"cron" is required: 5 fields (minute hour day-of-month month day-of-week, e.g. "0 3 * * *"), 7 fields (second first, year last, e.g. "*/10 * * * * * *"), "@daily" or "@every 30s"`)
	}
	if strings.HasPrefix(c, "@") {
		return nil
	}
	if n := len(strings.Fields(c)); n == 6 {
		return Errorf(EInvalid, `cron %q has 6 fields, which is ambiguous: write 5 fields (minute hour day-of-month month day-of-week), 7 fields (second minute hour day-of-month month day-of-week year, e.g. "*/10 * * * * * *" for every 10 seconds), or "@every 10s"`, expr)
	}
	return nil
}

// ScheduleInfo is what Temporal reports about a schedule's Temporal Schedule.
type ScheduleInfo struct {
	Paused     bool          `json:"paused"`
	NextRuns   []time.Time   `json:"next_runs"`
	RecentRuns []ScheduleRun `json:"recent_runs"`
	Running    []string      `json:"running"`
	Actions    int           `json:"actions"`
	Skipped    int           `json:"skipped_overlap"`
}

// ScheduleRun is one run a schedule started.
type ScheduleRun struct {
	ScheduledAt time.Time `json:"scheduled_at"`
	StartedAt   time.Time `json:"started_at"`
	ExecutionID string    `json:"execution_id"`
}

// ApplySchedule creates or updates the Temporal Schedule of s (paused when s is
// disabled). It returns EInvalid when Temporal refuses the cron expression or time
// zone, and EUnavailable when Temporal cannot be reached.
func (e *Engine) ApplySchedule(ctx context.Context, s Schedule) error {
	if err := CheckCron(s.Cron); err != nil {
		return err
	}
	overlap, ok := OverlapPolicies[s.Overlap]
	if !ok {
		return Errorf(EInvalid, "overlap %q is not one of %s", s.Overlap, OverlapPolicyNames())
	}
	inputs := map[string]any{}
	if len(s.Inputs) > 0 && string(s.Inputs) != "null" {
		if err := json.Unmarshal(s.Inputs, &inputs); err != nil || inputs == nil {
			return Errorf(EInvalid, `"inputs" must be a JSON object, like {"customer": 42}`)
		}
	}
	spec := client.ScheduleSpec{CronExpressions: []string{s.Cron}, TimeZoneName: s.Timezone}
	action := &client.ScheduleWorkflowAction{
		ID:       scheduleIDPrefix + s.Name,
		Workflow: WorkflowName,
		Args: []any{FlowInput{Flow: s.Flow, Inputs: inputs, Trigger: TriggerSchedule,
			MaxParallel: e.MaxParallel, MaxHistory: e.MaxHistory, ServerMaxRuntime: e.MaxRuntime, BaseURL: e.BaseURL}},
		TaskQueue: e.taskQueue(),
	}
	sc := e.Temporal.ScheduleClient()
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID: scheduleIDPrefix + s.Name, Spec: spec, Action: action, Overlap: overlap, Paused: !s.Enabled,
		Note: "managed by flowd: change it with PUT /api/v1/schedules/" + s.Name,
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		err = sc.GetHandle(ctx, scheduleIDPrefix+s.Name).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sch := in.Description.Schedule
				sch.Spec, sch.Action = &spec, action
				if sch.Policy == nil {
					sch.Policy = &client.SchedulePolicies{}
				}
				sch.Policy.Overlap = overlap
				if sch.State == nil {
					sch.State = &client.ScheduleState{}
				}
				sch.State.Paused = !s.Enabled
				return &client.ScheduleUpdate{Schedule: &sch}, nil
			},
		})
	}
	return scheduleError(s.Name, err)
}

// RemoveSchedule deletes the Temporal Schedule of the named schedule; runs it started
// go on. A schedule Temporal does not know is not an error.
func (e *Engine) RemoveSchedule(ctx context.Context, name string) error {
	err := e.Temporal.ScheduleClient().GetHandle(ctx, scheduleIDPrefix+name).Delete(ctx)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return scheduleError(name, err)
}

// DescribeSchedule returns Temporal's view of the named schedule: paused or not, the
// next run times and the recent runs. It returns ENotFound when Temporal has no such
// Schedule.
func (e *Engine) DescribeSchedule(ctx context.Context, name string) (ScheduleInfo, error) {
	d, err := e.Temporal.ScheduleClient().GetHandle(ctx, scheduleIDPrefix+name).Describe(ctx)
	if err != nil {
		return ScheduleInfo{}, scheduleError(name, err)
	}
	info := ScheduleInfo{NextRuns: d.Info.NextActionTimes, Actions: d.Info.NumActions, Skipped: d.Info.NumActionsSkippedOverlap,
		RecentRuns: []ScheduleRun{}, Running: []string{}}
	if d.Schedule.State != nil {
		info.Paused = d.Schedule.State.Paused
	}
	if info.NextRuns == nil {
		info.NextRuns = []time.Time{}
	}
	for _, r := range d.Info.RecentActions {
		run := ScheduleRun{ScheduledAt: r.ScheduleTime.UTC(), StartedAt: r.ActualTime.UTC()}
		if r.StartWorkflowResult != nil {
			run.ExecutionID = r.StartWorkflowResult.WorkflowID
		}
		info.RecentRuns = append(info.RecentRuns, run)
	}
	for _, w := range d.Info.RunningWorkflows {
		info.Running = append(info.Running, w.WorkflowID)
	}
	return info, nil
}

// scheduleError maps Temporal's errors about a schedule to flowd's codes.
func scheduleError(name string, err error) error {
	if err == nil {
		return nil
	}
	var (
		inv *serviceerror.InvalidArgument
		nf  *serviceerror.NotFound
	)
	switch {
	case errors.As(err, &inv):
		return Errorf(EInvalid, "schedule %q was refused by Temporal: %s; check cron and timezone", name, inv.Message)
	case errors.As(err, &nf):
		return Errorf(ENotFound, "schedule %q is not known to Temporal; save it again with PUT /api/v1/schedules/%s to recreate it", name, name)
	}
	return Errorf(EUnavailable, "the engine could not reach Temporal to manage schedule %q (%v); try again", name, err)
}

// ScheduledInput asks BeginScheduled to create the execution of a scheduled run.
type ScheduledInput struct {
	WorkflowID string         `json:"workflow_id"`
	Flow       string         `json:"flow"`
	Inputs     map[string]any `json:"inputs"`
	At         time.Time      `json:"at"`
}

// ScheduledRun is the execution BeginScheduled created: its id, and the revision
// it runs. Error is set instead when the run cannot start (the flow was deleted); the
// execution is then recorded ENDED_ERROR with it.
type ScheduledRun struct {
	ExecutionID string `json:"execution_id"`
	Revision    int    `json:"revision"`
	Script      string `json:"script"`
	Error       string `json:"error,omitempty"`
	// MaxRuntime is the flow's own maximum runtime in seconds (0: none set).
	MaxRuntime int `json:"max_runtime,omitempty"`
	// Inputs are the schedule's inputs completed with the defaults of the flow's
	// inputs_schema; nil when it declares none.
	Inputs map[string]any `json:"inputs,omitempty"`
}

// BeginScheduled creates the PENDING execution of a run started by a Temporal
// Schedule (createPending), with the flow's latest revision, keyed by the workflow id.
// A retry finds the row it created and answers with the same revision, so a run never
// gets two rows or changes revision. It returns an error only when the store fails.
func (a *Activities) BeginScheduled(ctx context.Context, in ScheduledInput) (ScheduledRun, error) {
	run := ScheduledRun{ExecutionID: in.WorkflowID}
	// No API request records a scheduled run's start: the audit entry is written with
	// the execution, in one transaction, so a retry that finds the row writes neither.
	by, actor := "", "schedule"
	if name := scheduleOf(in.WorkflowID); name != "" {
		by, actor = "schedule:"+name, "schedule:"+name
	}
	entry := &AuditEntry{At: in.At.UTC(), Actor: actor, ActorKind: "schedule", Action: "execution.start", TargetType: "execution", Target: in.WorkflowID,
		Detail: AuditDetail(map[string]any{"flow": in.Flow, "trigger": TriggerSchedule})}
	p, err := createPending(ctx, a.Store, pendingFlow{ID: in.WorkflowID, RootID: in.WorkflowID, Flow: in.Flow, Inputs: in.Inputs,
		Trigger: TriggerSchedule, At: in.At, StartedBy: by, Audit: entry})
	switch code := ErrorCode(err); {
	case code == ENotFound || code == EInvalid || code == EInvalidInputs:
		switch code {
		case ENotFound:
			run.Error = fmt.Sprintf("flow %q does not exist (was it deleted?); save it again, or point the schedule that started this run at another flow", in.Flow)
		case EInvalid:
			run.Error = "the schedule's inputs cannot be stored: " + ErrorMessage(err) + "; change them with PUT /api/v1/schedules/{name}"
		default:
			run.Error = "the schedule's inputs do not fit the flow's inputs_schema, which changed since the schedule was saved: " + ErrorMessage(err) + "; change them with PUT /api/v1/schedules/{name}"
		}
		// The run is recorded, ended, so that it shows in the schedule's executions.
		raw, _ := json.Marshal(in.Inputs)
		if in.Inputs == nil || len(raw) > MaxInputBytes {
			raw = []byte("{}")
		}
		at := in.At.UTC()
		exec := Execution{ID: in.WorkflowID, Type: TypeFlow, Name: in.Flow, Status: StatusEndedError, StatusMessage: run.Error, RootID: in.WorkflowID,
			Inputs: raw, Outputs: json.RawMessage("{}"), Trigger: TriggerSchedule, CreatedAt: at, EndedAt: &at, StartedBy: optional(by)}
		return run, a.Store.Record(ctx, Progress{Create: []Execution{exec}, Audit: []AuditEntry{*entry}})
	case err != nil:
		return run, err
	case p.Execution.Status.Ended():
		run.Error = p.Execution.StatusMessage
		return run, nil
	}
	run.Revision, run.Script, run.MaxRuntime = p.Revision, p.Script, p.MaxRuntime
	if p.Checked {
		run.Inputs = p.Inputs
	}
	return run, nil
}

// beginScheduled is the first step of a run started by a Temporal Schedule: it creates
// the execution and fills in the FlowInput as Engine.StartFlow would have. ended is
// set when the run cannot start and has been recorded ENDED_ERROR.
func beginScheduled(ctx workflow.Context, in FlowInput) (_ FlowInput, ended *FlowResult, _ error) {
	info := workflow.GetInfo(ctx)
	req := ScheduledInput{WorkflowID: info.WorkflowExecution.ID, Flow: in.Flow, Inputs: in.Inputs, At: info.WorkflowStartTime.UTC()}
	var run ScheduledRun
	if err := workflow.ExecuteLocalActivity(ctx, activityBeginScheduled, req).Get(ctx, &run); err != nil {
		return in, nil, err
	}
	if run.Error != "" {
		return in, &FlowResult{Status: StatusEndedError, Message: run.Error, Outputs: map[string]any{}}, nil
	}
	in.ExecutionID, in.RootID, in.Revision, in.Script = run.ExecutionID, run.ExecutionID, run.Revision, run.Script
	in.MaxRuntime = runtimeOf(run.MaxRuntime, in.ServerMaxRuntime)
	if run.Inputs != nil {
		in.Inputs = run.Inputs
	}
	return in, nil, nil
}
