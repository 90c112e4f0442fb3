package workflows

import (
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
