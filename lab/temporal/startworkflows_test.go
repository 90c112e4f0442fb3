package temporal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/grpc"

	"github.com/nodewright/nodewright/activities"
)

// StartWorkflows against a real server, starting directly and eagerly (through a client
// dialled with RequestIDInterceptor): a start repeated with its RequestID (a retried
// activity) finds the run it started, even once it closed; the same IDs under new RequestIDs
// are taken; a start the server refuses says why; the runs carry their UI metadata and
// search attributes.
func TestStartWorkflowsIsIdempotentPerRequest(t *testing.T) {
	// The SDK's test activity environment runs activities in this namespace.
	const namespace = "default-test-namespace"
	s := startTestServer(t, Options{Namespace: namespace, SearchAttributes: DefaultSearchAttributes()})
	for _, eager := range []bool{false, true} {
		t.Run(fmt.Sprintf("eager %t", eager), func(t *testing.T) {
			var dial []grpc.DialOption
			if eager {
				dial = append(dial, grpc.WithChainUnaryInterceptor(activities.RequestIDInterceptor()))
			}
			c := dialTestClient(t, s, testLogger(t), dial...)
			startsAreIdempotent(t, c, &activities.Signals{Client: c, Identity: "start-test", EagerStart: eager}, fmt.Sprintf("eager-%t/", eager))
		})
	}
}

// An eager start through a client without RequestIDInterceptor fails for good: its run
// started under a RequestID of the SDK's, which a retry would not find.
func TestEagerStartWithoutTheInterceptorFails(t *testing.T) {
	const namespace = "default-test-namespace"
	s := startTestServer(t, Options{Namespace: namespace, SearchAttributes: DefaultSearchAttributes()})
	c := dialTestClient(t, s, testLogger(t))
	signals := &activities.Signals{Client: c, Identity: "start-test", EagerStart: true}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(signals)
	_, err := env.ExecuteActivity(signals.StartWorkflows, []activities.WorkflowStart{{
		ID: "node/x", Type: markReadyName, TaskQueue: testTaskQueue, RequestID: "run1/node/x", Input: json.RawMessage(`{}`),
	}})
	if err == nil || !strings.Contains(err.Error(), "RequestIDInterceptor") {
		t.Errorf("eager start without the interceptor: %v, want an error naming RequestIDInterceptor", err)
	}
}

func startsAreIdempotent(t *testing.T, c client.Client, signals *activities.Signals, prefix string) {
	starts := func(requestPrefix string, ids ...string) []activities.WorkflowStart {
		var out []activities.WorkflowStart
		for _, id := range ids {
			out = append(out, activities.WorkflowStart{
				ID: id, Type: markReadyName, TaskQueue: testTaskQueue, RequestID: requestPrefix + id,
				Summary: "summary of " + id, Details: "details", Keywords: map[string]string{"NodePool": "pool-" + id},
				Input:       json.RawMessage(`{"claim":{"name":"` + id + `"}}`),
				TaskTimeout: 25 * time.Second,
			})
		}
		return out
	}
	call := func(what string, in []activities.WorkflowStart) []activities.StartOutcome {
		t.Helper()
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(signals)
		v, err := env.ExecuteActivity(signals.StartWorkflows, in)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var out []activities.StartOutcome
		if err := v.Get(&out); err != nil {
			t.Fatalf("%s: decode outcomes: %v", what, err)
		}
		if len(out) != len(in) {
			t.Fatalf("%s: %d outcomes for %d starts", what, len(out), len(in))
		}
		return out
	}
	var mu sync.Mutex
	var told []string // the starts Signals.Started was told of since the last look
	signals.Started = func(w activities.WorkflowStart) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, w.ID)
	}
	wantTold := func(what string, want ...string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if slices.Sort(told); !slices.Equal(told, want) {
			t.Errorf("%s: Started told of %v, want %v", what, told, want)
		}
		told = nil
	}
	ids := []string{prefix + "node/a", prefix + "node/b", prefix + "node/c"}
	for i, o := range call("first starts", starts("run1/", ids...)) {
		if o != (activities.StartOutcome{}) {
			t.Errorf("first start of %s: %+v, want started", ids[i], o)
		}
	}
	wantTold("first starts", ids...)
	for _, id := range ids {
		eventually(t, id+" closed", func(ctx context.Context) (bool, error) {
			desc, err := c.DescribeWorkflowExecution(ctx, id, "")
			if err != nil {
				return false, err
			}
			return desc.GetWorkflowExecutionInfo().GetCloseTime() != nil, nil
		})
	}
	for i, o := range call("the same starts retried", starts("run1/", ids...)) {
		if o != (activities.StartOutcome{}) {
			t.Errorf("retried start of %s: %+v, want it found started", ids[i], o)
		}
	}
	wantTold("the same starts retried", ids...)
	for i, o := range call("the same IDs from another run", starts("run2/", ids...)) {
		if !o.Taken || o.Error != "" {
			t.Errorf("start of %s under a new request: %+v, want taken", ids[i], o)
		}
	}
	wantTold("the same IDs from another run")
	bad := starts("run3/", prefix+"node/d")
	bad[0].Keywords["NoSuchAttribute"] = "x"
	if o := call("a start with an unknown search attribute", bad)[0]; o.Taken || !strings.Contains(o.Error, "NoSuchAttribute") {
		t.Errorf("start with an unknown search attribute: %+v, want an error naming it", o)
	}
	if o := call("a start without a type", []activities.WorkflowStart{{ID: prefix + "node/e", TaskQueue: testTaskQueue, RequestID: "x"}})[0]; !strings.Contains(o.Error, "type") {
		t.Errorf("start without a type: %+v, want an error naming the field", o)
	}
	wantTold("starts refused")

	desc, err := c.DescribeWorkflowExecution(t.Context(), prefix+"node/b", "")
	if err != nil {
		t.Fatal(err)
	}
	var summary, pool string
	dc := converter.GetDefaultDataConverter()
	if err := dc.FromPayload(desc.GetExecutionConfig().GetUserMetadata().GetSummary(), &summary); err != nil || summary != "summary of "+prefix+"node/b" {
		t.Errorf("node/b summary %q (%v), want %q", summary, err, "summary of "+prefix+"node/b")
	}
	if got := desc.GetExecutionConfig().GetDefaultWorkflowTaskTimeout().AsDuration(); got != 25*time.Second {
		t.Errorf("node/b workflow task timeout %s, want the start's 25s", got)
	}
	if err := dc.FromPayload(desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()["NodePool"], &pool); err != nil || pool != "pool-"+prefix+"node/b" {
		t.Errorf("node/b NodePool %q (%v), want pool-node/b", pool, err)
	}
}
