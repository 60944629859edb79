package engine

import (
	"context"

	"go.temporal.io/sdk/activity"
)

// Observer is told when flow executions begin and end in this worker, for metrics
// (api/metrics.go counts them for Prometheus). It must not block.
type Observer interface {
	ExecutionBegan()
	ExecutionEnded(status Status)
}

// observeBegan reports a flow execution that began.
func (a *Activities) observeBegan() {
	if a.Observer != nil {
		a.Observer.ExecutionBegan()
	}
}

// observeEnded reports a flow execution that Finish ended. Finish also ends the
// connections and child flows its workflow gave up on (their ids are not the
// workflow's); those are not flow ends of this workflow and are not counted here.
func (a *Activities) observeEnded(ctx context.Context, in FinishInput) {
	if a.Observer == nil || !activity.IsActivity(ctx) || activity.GetInfo(ctx).WorkflowExecution.ID != in.ExecutionID {
		return
	}
	a.Observer.ExecutionEnded(in.Status)
}
