package app

import (
	"context"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// queueDepth reports the approximate backlog of the workflow and activity task queue
// (tasks waiting for a worker), asking Temporal at most every 10 s.
func queueDepth(tc client.Client, namespace, queue string) func() float64 {
	var (
		mu    sync.Mutex
		last  float64
		asked time.Time
	)
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(asked) < 10*time.Second {
			return last
		}
		asked = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		total := 0.0
		for _, typ := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
			resp, err := tc.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
				Namespace: namespace, TaskQueue: &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
				TaskQueueType: typ, ReportStats: true,
			})
			if err != nil {
				return last // keep the last known value while Temporal does not answer
			}
			total += float64(resp.GetStats().GetApproximateBacklogCount())
		}
		last = total
		return last
	}
}
