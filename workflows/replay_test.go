package workflows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
)

// historyWorkflows maps a history file's name prefix to the workflow it records.
func historyWorkflows() map[string]any {
	return map[string]any{
		"nodelifecycle":    NodeLifecycleWorkflow,
		"provisioner":      ProvisionerWorkflow,
		"disruption":       DisruptionWorkflow,
		"interruption":     InterruptionWorkflow,
		"garbagecollector": GarbageCollectorWorkflow,
	}
}

// TestReplayRecordedHistories replays every history recorded from a real run, so a change
// that would break running workflows (non-determinism) fails here first.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*_history.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded workflow history in testdata/*_history.json; record one from a lab run " +
			"(temporal workflow show -w node/<claim> --output json > testdata/nodelifecycle_history.json)")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			prefix, _, _ := strings.Cut(filepath.Base(file), "_")
			wf, ok := historyWorkflows()[prefix]
			if !ok {
				t.Fatalf("history %s: name must start with nodelifecycle_, provisioner_, disruption_, interruption_ or garbagecollector_ to say which workflow it records", file)
			}
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflow(wf)
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Errorf("replay %s: %v", file, err)
			}
		})
	}
}

// maxLifecycleEvents bounds a node workflow's history from launch to terminated: a large
// scale-out writes one such history per node (issue 14).
const maxLifecycleEvents = 60

// Every whole node life recorded from the lab with the compact history, from launch to
// Terminated, stays within maxLifecycleEvents.
func TestRecordedNodeLifecyclesStaySmall(t *testing.T) {
	for _, name := range []string{"drained", "requestdrain", "empty", "expired", "nodeclaimdeleted", "nodedeleted"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("testdata", "nodelifecycle_"+name+"_history.json")
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var h struct {
				Events []struct {
					EventType string `json:"eventType"`
				} `json:"events"`
			}
			if err := json.Unmarshal(data, &h); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(h.Events) == 0 || h.Events[len(h.Events)-1].EventType != "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED" {
				t.Fatalf("%s does not record a whole life (launch to completion)", file)
			}
			if len(h.Events) > maxLifecycleEvents {
				t.Errorf("%s: %d events, want at most %d", file, len(h.Events), maxLifecycleEvents)
			}
		})
	}
}
