package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"
	"sigs.k8s.io/yaml"

	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// decoders read -o json and -o yaml back.
func decoders() map[string]func([]byte, any) error {
	return map[string]func([]byte, any) error{
		"json": json.Unmarshal,
		"yaml": func(data []byte, v any) error { return yaml.Unmarshal(data, v) },
	}
}

func TestNodesStructuredOutputParsesBackToTheRows(t *testing.T) {
	started := time.Date(2030, 6, 1, 11, 0, 0, 0, time.UTC)
	running := nodeExecution(t, "node/claim-1", map[string]any{workflows.MemoPricePerHour: 0.0423})
	running.StartTime, running.Status = timestamppb.New(started), enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	closed := nodeExecution(t, "node/claim-2", nil)
	closed.StartTime, closed.Status = timestamppb.New(started.Add(time.Minute)), enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	tests := []struct {
		name       string
		executions []*workflowpb.WorkflowExecutionInfo
		want       []NodeRow
	}{
		{
			name:       "a running and a closed node keep their price, start and status",
			executions: []*workflowpb.WorkflowExecutionInfo{running, closed},
			want: []NodeRow{
				{WorkflowID: "node/claim-1", Phase: "Ready", InstanceType: "m5.large", PricePerHour: 0.0423, Started: started, Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING},
				{WorkflowID: "node/claim-2", Phase: "Ready", InstanceType: "m5.large", Started: started.Add(time.Minute), Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED},
			},
		},
		{name: "no nodes is an empty list", want: []NodeRow{}},
	}
	for _, tt := range tests {
		for format, decode := range decoders() {
			t.Run(tt.name+" as "+format, func(t *testing.T) {
				c := &listingClient{executions: tt.executions}
				var stdout, stderr bytes.Buffer
				args := []string{"nodes", "--all", "-o", format}
				if code := runCLI(context.Background(), args, &stdout, &stderr, temporalconn.MapEnv{}, c.dial, "test"); code != 0 {
					t.Fatalf("starter %q exited %d: %s", args, code, stderr.String())
				}
				var got []NodeRow
				if err := decode(stdout.Bytes(), &got); err != nil {
					t.Fatalf("starter %q printed what %s cannot read back: %v\n%s", args, format, err, stdout.String())
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("starter %q read back %+v, want %+v\n%s", args, got, tt.want, stdout.String())
				}
			})
		}
	}
}

// describingClient answers the state query of any node workflow with state.
type describingClient struct {
	client.Client
	state workflows.NodeState
}

func (c *describingClient) dial(context.Context, client.Options) (client.Client, error) {
	return c, nil
}
func (c *describingClient) Close() {}

func (c *describingClient) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	p, err := converter.GetDefaultDataConverter().ToPayload(c.state)
	return encodedPayload{p}, err
}

// encodedPayload is a query answer as the SDK hands it over: a payload to decode.
type encodedPayload struct{ p *commonpb.Payload }

func (e encodedPayload) HasValue() bool { return e.p != nil }
func (e encodedPayload) Get(v any) error {
	return converter.GetDefaultDataConverter().FromPayload(e.p, v)
}

func TestDescribeStructuredOutputParsesBackToTheState(t *testing.T) {
	at := time.Date(2030, 6, 1, 9, 0, 0, 0, time.UTC)
	expires := at.Add(720 * time.Hour)
	state := workflows.NodeState{
		Phase: workflows.PhaseDraining, Claim: "claim-1", NodePool: "general", NodeName: "ip-10-0-0-1",
		InstanceID: "i-0abc", InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot", PricePerHour: 0.0345,
		Pods:        []string{"default/web-1"},
		Transitions: []workflows.PhaseChange{{Phase: workflows.PhaseLaunching, At: at}, {Phase: workflows.PhaseDraining, At: at.Add(time.Hour)}},
		DrainReason: "kernel", ExpiresAt: &expires,
		Disruption: &workflows.Disruption{Source: workflows.SourceManual, Reason: "kernel", RequestedAt: at.Add(time.Hour), StartsAt: at.Add(time.Hour)},
		PodsLeft:   map[string]string{"default/web-1": "PodDisruptionBudget web allows no eviction"},
	}
	for format, decode := range decoders() {
		t.Run(format, func(t *testing.T) {
			c := &describingClient{state: state}
			var stdout, stderr bytes.Buffer
			args := []string{"describe", "node/claim-1", "--output", format}
			if code := runCLI(context.Background(), args, &stdout, &stderr, temporalconn.MapEnv{}, c.dial, "test"); code != 0 {
				t.Fatalf("starter %q exited %d: %s", args, code, stderr.String())
			}
			var got NodeDescription
			if err := decode(stdout.Bytes(), &got); err != nil {
				t.Fatalf("starter %q printed what %s cannot read back: %v\n%s", args, format, err, stdout.String())
			}
			want := NodeDescription{WorkflowID: "node/claim-1", NodeState: state}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("starter %q read back %+v, want %+v\n%s", args, got, want, stdout.String())
			}
		})
	}
}

func TestWideOutputAddsColumnsToTheTable(t *testing.T) {
	row := NodeRow{
		WorkflowID: "node/claim-1", NodeName: "ip-10-0-0-1", Phase: "Ready", NodePool: "general", InstanceID: "i-0abc",
		InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot", PricePerHour: 0.0423,
		Started: printedAt().Add(-time.Hour), Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	}
	tests := []struct {
		name       string
		row        NodeRow
		wantFields []string
	}{
		{
			name:       "a running node shows its instance id, status and start",
			row:        row,
			wantFields: []string{"i-0abc", "Running", "2030-06-01T11:00:00Z"},
		},
		{
			name:       "a node with nothing known yet shows dashes",
			row:        NodeRow{WorkflowID: "node/claim-2", Phase: "Launching"},
			wantFields: []string{"-", "-", "-"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var table, wide bytes.Buffer
			if err := PrintNodes(&table, []NodeRow{tt.row}, printedAt()); err != nil {
				t.Fatal(err)
			}
			if err := PrintNodesWide(&wide, []NodeRow{tt.row}, printedAt()); err != nil {
				t.Fatal(err)
			}
			tableLines, wideLines := strings.Split(table.String(), "\n"), strings.Split(wide.String(), "\n")
			wantHeader := append(strings.Fields(tableLines[0]), "INSTANCE-ID", "STATUS", "STARTED")
			if got := strings.Fields(wideLines[0]); !slices.Equal(got, wantHeader) {
				t.Errorf("wide header = %q, want %q", got, wantHeader)
			}
			wantRow := append(strings.Fields(tableLines[1]), tt.wantFields...)
			if got := strings.Fields(wideLines[1]); !slices.Equal(got, wantRow) {
				t.Errorf("wide row = %q, want %q", got, wantRow)
			}
		})
	}
}

func TestWideDescribeShowsExpiryDisruptionAndPodsLeft(t *testing.T) {
	at := time.Date(2030, 6, 1, 9, 0, 0, 0, time.UTC)
	expires, deadline := at.Add(720*time.Hour), at.Add(2*time.Hour)
	tests := []struct {
		name      string
		state     workflows.NodeState
		wantLines []string
	}{
		{
			name:      "a node with no expiry and no disruption says so",
			state:     workflows.NodeState{Phase: workflows.PhaseReady, Claim: "claim-1"},
			wantLines: []string{"Phase: Ready", "Expires: never", "Disruption: -", "Pods left: 0"},
		},
		{
			name: "a node being consolidated shows the decision, its deadline and the pods left",
			state: workflows.NodeState{
				Phase: workflows.PhaseDraining, Claim: "claim-1", ZoneID: "use1-az1", ImageID: "ami-0abc", ExpiresAt: &expires,
				Disruption: &workflows.Disruption{Source: workflows.SourceDisruption, Reason: "Underutilized", RequestedAt: at, StartsAt: at,
					Deadline: &deadline, Replacement: "claim-2", Savings: 0.05},
				PodsLeft: map[string]string{"default/web-2": "PDB web", "default/db-0": "do-not-disrupt"},
			},
			wantLines: []string{
				"Zone ID: use1-az1", "Image: ami-0abc", "Expires: 2030-07-01T09:00:00Z",
				"Disruption: Disruption Underutilized", "requested 2030-06-01T09:00:00Z", "deadline 2030-06-01T11:00:00Z",
				"replacement claim-2, saves $0.0500/h",
				"Pods left: 2", "default/db-0 do-not-disrupt", "default/web-2 PDB web",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := printState(&buf, outputWide, "node/claim-1", tt.state); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
				got = append(got, strings.Join(strings.Fields(line), " "))
			}
			for _, want := range tt.wantLines {
				if !slices.Contains(got, want) {
					t.Errorf("describe -o wide lacks the line %q:\n%s", want, buf.String())
				}
			}
		})
	}
}

// Completion and --version need no Temporal: they exit 0 without dialing and print to stdout.
func TestCompletionAndVersionNeedNoTemporal(t *testing.T) {
	tests := []struct {
		args []string
		// wantStdout are fragments that mark the output as what was asked for.
		wantStdout []string
	}{
		{[]string{"completion", "bash"}, []string{"# bash completion", "__start_starter", "complete -o default -F __start_starter starter"}},
		{[]string{"completion", "zsh"}, []string{"#compdef starter", "compdef _starter starter"}},
		{[]string{"completion", "fish"}, []string{"complete -c starter"}},
		{[]string{"completion", "powershell"}, []string{"Register-ArgumentCompleter", "-CommandName 'starter'"}},
		{[]string{"--version"}, []string{"starter v1.2.3-4-gabc\n"}},
		{[]string{"--namespace", "prod", "-v"}, []string{"starter v1.2.3-4-gabc\n"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			dialer := &dialRecorder{}
			code := runCLI(context.Background(), tt.args, &stdout, &stderr, temporalconn.MapEnv{}, dialer.dial, "v1.2.3-4-gabc")
			if code != 0 {
				t.Fatalf("starter %q exited %d; stderr:\n%s", tt.args, code, stderr.String())
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("starter %q stdout lacks %q:\n%.400s", tt.args, want, stdout.String())
				}
			}
			if len(dialer.calls) != 0 {
				t.Errorf("starter %q dialed Temporal", tt.args)
			}
		})
	}
}
