package starter

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodewright/nodewright/workflows"
)

// printedAt is the "now" every table is rendered at.
func printedAt() time.Time { return time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC) }

func TestPrintNodes(t *testing.T) {
	full := NodeRow{
		WorkflowID: "node/claim-1", NodeName: "ip-10-0-0-1", Phase: "Ready", NodePool: "general",
		InstanceID: "i-0abc", InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot",
		PricePerHour: 0.0423, Started: printedAt().Add(-45 * time.Second),
	}
	tests := []struct {
		name string
		row  NodeRow
		// wantFields are the row's columns in order: node, phase, type, zone, capacity, price,
		// pool, age, workflow.
		wantFields []string
	}{
		{
			name:       "a full row shows every column and an age in seconds",
			row:        full,
			wantFields: []string{"ip-10-0-0-1", "Ready", "m5.large", "us-east-1a", "spot", "$0.0423", "general", "45s", "node/claim-1"},
		},
		{
			name:       "a node not yet registered shows dashes for what is unknown",
			row:        NodeRow{WorkflowID: "node/claim-2", Phase: "Launching", Started: printedAt().Add(-3*time.Minute - 10*time.Second)},
			wantFields: []string{"-", "Launching", "-", "-", "-", "-", "-", "3m", "node/claim-2"},
		},
		{
			name:       "a price is rounded to a hundredth of a cent",
			row:        withPrice(full, 0.10395),
			wantFields: []string{"ip-10-0-0-1", "Ready", "m5.large", "us-east-1a", "spot", "$0.1040", "general", "45s", "node/claim-1"},
		},
		{
			name:       "an unknown price shows a dash",
			row:        withPrice(full, 0),
			wantFields: []string{"ip-10-0-0-1", "Ready", "m5.large", "us-east-1a", "spot", "-", "general", "45s", "node/claim-1"},
		},
		{
			name:       "an age of hours is shown in hours",
			row:        withStarted(full, printedAt().Add(-5*time.Hour-59*time.Minute)),
			wantFields: []string{"ip-10-0-0-1", "Ready", "m5.large", "us-east-1a", "spot", "$0.0423", "general", "5h", "node/claim-1"},
		},
		{
			name:       "an age of a day and a half is still shown in hours",
			row:        withStarted(full, printedAt().Add(-36*time.Hour)),
			wantFields: []string{"ip-10-0-0-1", "Ready", "m5.large", "us-east-1a", "spot", "$0.0423", "general", "36h", "node/claim-1"},
		},
		{
			name:       "an age of days is shown in days",
			row:        withStarted(full, printedAt().Add(-3*24*time.Hour-7*time.Hour)),
			wantFields: []string{"ip-10-0-0-1", "Ready", "m5.large", "us-east-1a", "spot", "$0.0423", "general", "3d", "node/claim-1"},
		},
		{
			name:       "an unknown start shows a dash for the age",
			row:        withStarted(full, time.Time{}),
			wantFields: []string{"ip-10-0-0-1", "Ready", "m5.large", "us-east-1a", "spot", "$0.0423", "general", "-", "node/claim-1"},
		},
		{
			name:       "a start just after now, from clock skew, shows no negative age",
			row:        withStarted(full, printedAt().Add(2*time.Second)),
			wantFields: []string{"ip-10-0-0-1", "Ready", "m5.large", "us-east-1a", "spot", "$0.0423", "general", "0s", "node/claim-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := printedLines(t, []NodeRow{tt.row})
			if len(lines) != 2 {
				t.Fatalf("PrintNodes wrote %d lines, want a header and one row:\n%s", len(lines), strings.Join(lines, "\n"))
			}
			wantHeader := []string{"NODE", "PHASE", "INSTANCE-TYPE", "ZONE", "CAPACITY-TYPE", "PRICE/h", "NODEPOOL", "AGE", "WORKFLOW"}
			if got := strings.Fields(lines[0]); !slices.Equal(got, wantHeader) {
				t.Errorf("header = %q, want %q", got, wantHeader)
			}
			if got := strings.Fields(lines[1]); !slices.Equal(got, tt.wantFields) {
				t.Errorf("row = %q, want %q", got, tt.wantFields)
			}
		})
	}
}

func TestPrintNodesWritesOneAlignedRowPerNode(t *testing.T) {
	rows := []NodeRow{
		{WorkflowID: "node/a", NodeName: "short", Phase: "Ready", Started: printedAt().Add(-time.Minute)},
		{WorkflowID: "node/b", NodeName: "a-much-longer-node-name", Phase: "Draining", Started: printedAt().Add(-2 * time.Minute)},
		{WorkflowID: "node/c", Phase: "Launching", Started: printedAt()},
	}
	lines := printedLines(t, rows)
	if len(lines) != 1+len(rows) {
		t.Fatalf("PrintNodes wrote %d lines for %d nodes, want a header and one row each:\n%s", len(lines), len(rows), strings.Join(lines, "\n"))
	}
	phaseColumn := strings.Index(lines[0], "PHASE")
	for i, row := range rows {
		line := lines[i+1]
		if !strings.HasSuffix(line, row.WorkflowID) {
			t.Errorf("line %d = %q, want the row of %s", i+1, line, row.WorkflowID)
		}
		if got := strings.Index(line, row.Phase); got != phaseColumn {
			t.Errorf("phase of %s starts at column %d, want %d under PHASE:\n%s", row.WorkflowID, got, phaseColumn, strings.Join(lines, "\n"))
		}
	}
}

func TestPrintNodesWithNoNodesWritesOnlyTheHeader(t *testing.T) {
	lines := printedLines(t, nil)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "NODE") {
		t.Errorf("PrintNodes(no rows) = %q, want only the header", lines)
	}
}

func TestPrintState(t *testing.T) {
	launched := time.Date(2030, 6, 1, 11, 0, 0, 0, time.FixedZone("CEST", 2*60*60))
	tests := []struct {
		name  string
		state workflows.NodeState
		// wantLines must each appear as a line, with runs of spaces collapsed to one.
		wantLines []string
		// absent must not appear anywhere.
		absent []string
	}{
		{
			name: "a ready node shows its phase, instance and transitions in UTC",
			state: workflows.NodeState{
				Phase: workflows.PhaseReady, Claim: "claim-1", NodePool: "general", NodeName: "ip-10-0-0-1",
				InstanceID: "i-0abc", InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot",
				PricePerHour: 0.0345, Pods: []string{"default/web-1", "default/web-2"},
				Transitions: []workflows.PhaseChange{
					{Phase: workflows.PhaseLaunching, At: launched},
					{Phase: workflows.PhaseReady, At: launched.Add(90 * time.Second)},
				},
			},
			wantLines: []string{
				"Workflow: node/claim-1",
				"Phase: Ready",
				"NodeClaim: claim-1",
				"NodePool: general",
				"Node: ip-10-0-0-1",
				"Instance: i-0abc m5.large us-east-1a spot",
				"Price: $0.0345/h",
				"Planned pods: default/web-1, default/web-2",
				"Transitions: 2",
				"Launching 2030-06-01T09:00:00Z",
				"Ready 2030-06-01T09:01:30Z",
			},
			absent: []string{"Drain reason", "Last error"},
		},
		{
			name:  "a node still launching shows dashes for what it does not have yet",
			state: workflows.NodeState{Phase: workflows.PhaseLaunching, Claim: "claim-1", NodePool: "general"},
			wantLines: []string{
				"Phase: Launching",
				"Node: -",
				"Instance: - - - -",
				"Planned pods: -",
				"Transitions: 0",
			},
		},
		{
			name:      "a node whose price is unknown shows a dash",
			state:     workflows.NodeState{Phase: workflows.PhaseLaunching, Claim: "claim-1", NodePool: "general"},
			wantLines: []string{"Price: -"},
			absent:    []string{"$0.0000"},
		},
		{
			name: "a draining node that hit an error shows the reason and the error",
			state: workflows.NodeState{
				Phase: workflows.PhaseDraining, Claim: "claim-1", NodePool: "general",
				DrainReason: "manual", LastError: "evict default/web-1: PodDisruptionBudget",
			},
			wantLines: []string{
				"Phase: Draining",
				"Drain reason: manual",
				"Last error: evict default/web-1: PodDisruptionBudget",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := PrintState(&buf, "node/claim-1", tt.state); err != nil {
				t.Fatalf("PrintState: %v", err)
			}
			got := map[string]bool{}
			for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
				got[strings.Join(strings.Fields(line), " ")] = true
			}
			for _, want := range tt.wantLines {
				if !got[want] {
					t.Errorf("PrintState output lacks the line %q:\n%s", want, buf.String())
				}
			}
			for _, unwanted := range tt.absent {
				if strings.Contains(buf.String(), unwanted) {
					t.Errorf("PrintState output shows %q although the state has none:\n%s", unwanted, buf.String())
				}
			}
		})
	}
}

func withStarted(r NodeRow, at time.Time) NodeRow {
	r.Started = at
	return r
}

func withPrice(r NodeRow, price float64) NodeRow {
	r.PricePerHour = price
	return r
}

// printedLines runs PrintNodes at printedAt and returns its lines.
func printedLines(t *testing.T, rows []NodeRow) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := PrintNodes(&buf, rows, printedAt()); err != nil {
		t.Fatalf("PrintNodes: %v", err)
	}
	return strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
}
