package engine

import (
	"encoding/json"
	"sync"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// begin records that an execution runs (Begin). When the execution was cancelled
// before its first step, as a child flow is when its parent is cancelled while
// starting it, the script does not run: begin records the execution ENDED_CANCELLED
// and returns the result to end the workflow with. It returns an error when the store
// cannot record either.
//
// Begin runs on a context that a cancel does not reach: a cancel that arrives while
// Begin runs (or before it) must not fail the workflow before it has recorded its
// end, which left the row PENDING for good.
func begin(ctx workflow.Context, in FlowInput, at time.Time) (*FlowResult, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if ctx.Err() == nil {
		if err := workflow.ExecuteLocalActivity(dctx, activityBegin, BeginInput{ExecutionID: in.ExecutionID, At: at}).Get(dctx, nil); err != nil {
			return nil, err
		}
	}
	if ctx.Err() == nil {
		return nil, nil
	}
	fin := FinishInput{ExecutionID: in.ExecutionID, Status: StatusEndedCancelled, Message: "cancelled before it began (its script did not run)",
		Outputs: json.RawMessage("{}"), At: at}
	if err := workflow.ExecuteLocalActivity(dctx, activityFinish, fin).Get(dctx, nil); err != nil {
		return nil, err
	}
	return &FlowResult{Status: fin.Status, Message: fin.Message, Outputs: map[string]any{}, EndedAt: at}, nil
}

// heldFlows are the flows whose executions wait, before their first step, until they
// are cancelled (HoldUntilCancelled).
var heldFlows sync.Map

// HoldUntilCancelled makes every execution of the named flow that starts from now on
// wait, before its first step, until it is cancelled, and returns the function that
// ends the hold. It is a test hook: it forces the race of a cancel that reaches a
// workflow before its first step, which otherwise happens only by timing luck.
func HoldUntilCancelled(flow string) (release func()) {
	heldFlows.Store(flow, true)
	return func() { heldFlows.Delete(flow) }
}

// holdInterceptor applies HoldUntilCancelled in the workers NewWorker creates.
type holdInterceptor struct {
	interceptor.WorkerInterceptorBase
}

func (*holdInterceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &holdInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type holdInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (h *holdInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	if len(in.Args) > 0 {
		var flow string
		switch fi := in.Args[0].(type) {
		case FlowInput:
			flow = fi.Flow
		case *FlowInput:
			flow = fi.Flow
		}
		if _, held := heldFlows.Load(flow); held && flow != "" {
			_ = workflow.Await(ctx, func() bool { return ctx.Err() != nil })
		}
	}
	return h.Next.ExecuteWorkflow(ctx, in)
}
