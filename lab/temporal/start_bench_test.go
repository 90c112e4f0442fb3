package temporal

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// How fast the lab's server starts long-lived workflows, the way the Provisioner starts node
// workflows: as children of one workflow, or from the client several at a time. The server
// starts a parent's children one after another under the parent's lock.
func BenchmarkStartLongLivedWorkflows(b *testing.B) {
	const n = 200
	s := startTestServer(b, Options{Logger: slog.New(slog.DiscardHandler)})
	c := dialTestClient(b, s, slog.New(slog.DiscardHandler))
	w := worker.New(c, benchTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(waitLong, workflow.RegisterOptions{Name: "WaitLong"})
	w.RegisterWorkflowWithOptions(startChildren, workflow.RegisterOptions{Name: "StartChildren"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)

	round := 0
	b.Run(fmt.Sprintf("children of one parent/%d", n), func(b *testing.B) {
		for b.Loop() {
			round++
			run, err := c.ExecuteWorkflow(b.Context(), client.StartWorkflowOptions{ID: fmt.Sprintf("parent-%d", round), TaskQueue: benchTaskQueue},
				"StartChildren", fmt.Sprintf("child-%d", round), n)
			if err != nil {
				b.Fatal(err)
			}
			if err := run.Get(b.Context(), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, parallel := range []int{1, 16} {
		b.Run(fmt.Sprintf("from the client %d at a time/%d", parallel, n), func(b *testing.B) {
			for b.Loop() {
				round++
				var wg sync.WaitGroup
				slots := make(chan struct{}, parallel)
				errs := make(chan error, n)
				for i := range n {
					slots <- struct{}{}
					wg.Go(func() {
						defer func() { <-slots }()
						_, err := c.ExecuteWorkflow(b.Context(), client.StartWorkflowOptions{ID: fmt.Sprintf("client-%d-%d", round, i), TaskQueue: benchTaskQueue}, "WaitLong")
						errs <- err
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

const benchTaskQueue = "lab-temporal-bench"

// waitLong stays open, as a node workflow does for its node's life.
func waitLong(ctx workflow.Context) error {
	return workflow.Sleep(ctx, 24*time.Hour)
}

// startChildren starts n waitLong children, abandoned when it ends, and waits until each has
// started.
func startChildren(ctx workflow.Context, prefix string, n int) error {
	futures := make([]workflow.ChildWorkflowFuture, n)
	for i := range n {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: fmt.Sprintf("%s-%d", prefix, i), ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, "WaitLong")
	}
	for _, f := range futures {
		if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}
