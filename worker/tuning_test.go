package worker

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/workflows"
)

// autoscaled is the poller behaviour that starts at initial polls and scales up to most.
func autoscaled(initial, most int) sdkworker.PollerBehavior {
	return sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{
		InitialNumberOfPollers: initial, MinimumNumberOfPollers: 1, MaximumNumberOfPollers: most,
	})
}

// fixed is the poller behaviour that keeps most polls open.
func fixed(most int) sdkworker.PollerBehavior {
	return sdkworker.NewPollerBehaviorSimpleMaximum(sdkworker.PollerBehaviorSimpleMaximumOptions{MaximumNumberOfPollers: most})
}

// slots is the worker options with these pollers and slots, the rest left to the SDK.
func slots(workflowPollers, activityPollers sdkworker.PollerBehavior, workflowTasks, activities, localActivities int) sdkworker.Options {
	return sdkworker.Options{
		WorkflowTaskPollerBehavior: workflowPollers, ActivityTaskPollerBehavior: activityPollers,
		MaxConcurrentWorkflowTaskExecutionSize: workflowTasks, MaxConcurrentActivityExecutionSize: activities,
		MaxConcurrentLocalActivityExecutionSize: localActivities,
		MaxHeartbeatThrottleInterval:            10 * time.Second,
	}
}

// A wait for a Node heartbeats first after activities.QuietWait, then at least every
// maxHeartbeatThrottle: both must leave the server room to be slow within the waits'
// heartbeat timeout, or a busy server times healthy waits out.
func TestWaitsHeartbeatWellWithinTheirTimeout(t *testing.T) {
	room := workflows.WaitHeartbeatTimeout / 2
	if activities.QuietWait > room || maxHeartbeatThrottle > room {
		t.Errorf("first heartbeat after %s, then every %s at most: want each within half the %s heartbeat timeout",
			activities.QuietWait, maxHeartbeatThrottle, workflows.WaitHeartbeatTimeout)
	}
}

// workerOptionsOf parses a command line and builds the Temporal worker's options from it.
func workerOptionsOf(t *testing.T, args []string, vars map[string]string) (sdkworker.Options, Config) {
	t.Helper()
	cfg, err := ParseFlags(withRequired(args...), env(vars))
	if err != nil {
		t.Fatalf("ParseFlags(%q): %v", args, err)
	}
	var stoppedWith error
	opts := cfg.Tuning.sdkOptions(func(err error) { stoppedWith = err })
	if opts.OnFatalError == nil {
		t.Fatal("the worker options lose OnFatalError: a worker that stopped polling would go unnoticed")
	}
	fatal := errors.New("namespace not found")
	if opts.OnFatalError(fatal); stoppedWith != fatal {
		t.Errorf("OnFatalError passed on %v, want %v", stoppedWith, fatal)
	}
	opts.OnFatalError = nil
	return opts, cfg
}

func TestTuningFlagsBuildWorkerOptions(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		want       sdkworker.Options
		wantSticky int
	}{
		{
			name: "by default pollers autoscale up to 20 and the slots suit a small pod",
			want: slots(autoscaled(5, 20), autoscaled(5, 20), 500, 2000, 200), wantSticky: 6000,
		},
		{
			name: "flags set every count",
			args: []string{"--workflow-task-pollers", "8", "--activity-task-pollers", "12", "--max-concurrent-workflow-tasks", "300",
				"--max-concurrent-activities", "4000", "--max-concurrent-local-activities", "50", "--sticky-workflow-cache-size", "12000"},
			want: slots(autoscaled(5, 8), autoscaled(5, 12), 300, 4000, 50), wantSticky: 12000,
		},
		{
			name: "without autoscaling the poller counts are fixed",
			args: []string{"--poller-autoscaling=false", "--workflow-task-pollers", "4"},
			want: slots(fixed(4), fixed(20), 500, 2000, 200), wantSticky: 6000,
		},
		{
			name: "the smallest counts the SDK takes are accepted, and autoscaling starts at the ceiling",
			args: []string{"--workflow-task-pollers", "2", "--activity-task-pollers", "1", "--max-concurrent-workflow-tasks", "2",
				"--max-concurrent-activities", "1", "--max-concurrent-local-activities", "1", "--sticky-workflow-cache-size", "1"},
			want: slots(autoscaled(2, 2), autoscaled(1, 1), 2, 1, 1), wantSticky: 1,
		},
		{
			name: "the environment sets every count",
			env: map[string]string{"WORKFLOW_TASK_POLLERS": "10", "ACTIVITY_TASK_POLLERS": "6", "POLLER_AUTOSCALING": "false",
				"MAX_CONCURRENT_WORKFLOW_TASKS": "100", "MAX_CONCURRENT_ACTIVITIES": "900", "MAX_CONCURRENT_LOCAL_ACTIVITIES": "40", "STICKY_WORKFLOW_CACHE_SIZE": "3000"},
			want: slots(fixed(10), fixed(6), 100, 900, 40), wantSticky: 3000,
		},
		{
			name: "flags override the environment",
			args: []string{"--poller-autoscaling", "--max-concurrent-activities", "1500"},
			env:  map[string]string{"POLLER_AUTOSCALING": "false", "MAX_CONCURRENT_ACTIVITIES": "900"},
			want: slots(autoscaled(5, 20), autoscaled(5, 20), 500, 1500, 200), wantSticky: 6000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cfg := workerOptionsOf(t, tt.args, tt.env)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("worker options from %q and %v\n got  %+v\n want %+v", tt.args, tt.env, got, tt.want)
			}
			if size := cfg.StickyWorkflowCacheSize(); size != tt.wantSticky {
				t.Errorf("sticky workflow cache size %d, want %d", size, tt.wantSticky)
			}
		})
	}
}

// A Config built in code (the lab's) leaves the tuning at zero and gets what the flags'
// defaults give.
func TestZeroTuningMeansTheFlagsDefaults(t *testing.T) {
	fromFlags, cfg := workerOptionsOf(t, nil, nil)
	zero := Config{ClusterName: "lab", NodeClassGroup: cfg.NodeClassGroup, Temporal: cfg.Temporal}
	if err := zero.Validate(); err != nil {
		t.Fatalf("a Config with no tuning: %v", err)
	}
	fromCode := zero.Tuning.sdkOptions(nil)
	if !reflect.DeepEqual(fromCode, fromFlags) {
		t.Errorf("zero tuning gives\n %+v\nthe flags' defaults\n %+v", fromCode, fromFlags)
	}
	if zero.StickyWorkflowCacheSize() != cfg.StickyWorkflowCacheSize() {
		t.Errorf("zero tuning's sticky cache %d, the flags' default %d", zero.StickyWorkflowCacheSize(), cfg.StickyWorkflowCacheSize())
	}
}

// The SDK panics on options it cannot run with (a poller count beside a poller behaviour,
// one workflow task slot); every tuning the flags accept must build a worker.
func TestTuningsTheFlagsAcceptBuildAWorker(t *testing.T) {
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	for _, args := range [][]string{
		nil,
		{"--poller-autoscaling=false"},
		{"--workflow-task-pollers", "2", "--activity-task-pollers", "1", "--max-concurrent-workflow-tasks", "2", "--max-concurrent-activities", "1", "--max-concurrent-local-activities", "1"},
	} {
		opts, _ := workerOptionsOf(t, args, nil)
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("the SDK refuses the worker options of %q: %v", args, p)
				}
			}()
			sdkworker.New(tc, "tuning-test", opts)
		}()
	}
}
