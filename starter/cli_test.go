package starter

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// dialRecorder stands in for client.DialContext: it records each attempt and refuses it, so
// a command line that gets past validation ends with exit code 1 and no network traffic.
type dialRecorder struct {
	calls []client.Options
}

func (d *dialRecorder) dial(_ context.Context, opts client.Options) (client.Client, error) {
	d.calls = append(d.calls, opts)
	return nil, errors.New("dial refused by the test")
}

func TestCLI(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		// wantStderr are fragments stderr must hold.
		wantStderr []string
		// wantDialTo is the host:port and namespace dialed; empty means Temporal must not be dialed.
		wantDialTo [2]string
	}{
		{
			name: "no command prints usage and exits 2", args: nil,
			wantCode: 2, wantStderr: []string{"no command", "usage: starter", "describe NODE"},
		},
		{
			name: "only flags and no command prints usage and exits 2", args: []string{"--namespace", "prod"},
			wantCode: 2, wantStderr: []string{"no command", "usage: starter"},
		},
		{
			name: "an unknown command prints usage and exits 2", args: []string{"launch", "node-1"},
			wantCode: 2, wantStderr: []string{`unknown command "launch"`, "usage: starter"},
		},
		{
			name: "an unknown global flag exits 2", args: []string{"--bogus", "nodes"},
			wantCode: 2, wantStderr: []string{"bogus", "usage: starter"},
		},
		{
			name: "help exits 0 with usage", args: []string{"-h"},
			wantCode: 0, wantStderr: []string{"usage: starter", "-temporal-address"},
		},
		{
			name: "start with an argument fails naming its usage", args: []string{"start", "now"},
			wantCode: 2, wantStderr: []string{"starter start", `"now"`},
		},
		{
			name: "nodes with an unknown flag fails naming its usage", args: []string{"nodes", "--closed"},
			wantCode: 2, wantStderr: []string{"closed", "starter nodes [--all]"},
		},
		{
			name: "nodes with a positional argument fails naming its usage", args: []string{"nodes", "ip-10-0-0-1"},
			wantCode: 2, wantStderr: []string{"starter nodes [--all]"},
		},
		{
			name: "describe without NODE fails naming its arguments", args: []string{"describe"},
			wantCode: 2, wantStderr: []string{"describe NODE"},
		},
		{
			name: "describe with an empty NODE fails naming its arguments", args: []string{"describe", ""},
			wantCode: 2, wantStderr: []string{"describe NODE"},
		},
		{
			name: "describe with two nodes fails naming its arguments", args: []string{"describe", "a", "b"},
			wantCode: 2, wantStderr: []string{"describe NODE"},
		},
		{
			name: "drain without NODE fails naming its arguments", args: []string{"drain"},
			wantCode: 2, wantStderr: []string{"drain [--grace-period D] NODE [REASON]"},
		},
		{
			name: "drain with three arguments fails naming its arguments", args: []string{"drain", "node-1", "because", "extra"},
			wantCode: 2, wantStderr: []string{"drain [--grace-period D] NODE [REASON]", `"extra"`},
		},
		{
			name: "drain with a negative grace period fails naming its arguments", args: []string{"drain", "--grace-period", "-5m", "node-1"},
			wantCode: 2, wantStderr: []string{"drain [--grace-period D] NODE [REASON]"},
		},
		{
			name: "cancel-drain without NODE fails naming its arguments", args: []string{"cancel-drain"},
			wantCode: 2, wantStderr: []string{"cancel-drain NODE"},
		},
		{
			name: "extend without a duration fails naming its arguments", args: []string{"extend", "node-1"},
			wantCode: 2, wantStderr: []string{"extend NODE DURATION"},
		},
		{
			name: "extend with a duration that is not positive fails", args: []string{"extend", "node-1", "0s"},
			wantCode: 2, wantStderr: []string{"positive Go duration"},
		},
		{
			name: "extend with a negative duration after -- fails as not positive", args: []string{"extend", "node-1", "--", "-1h"},
			wantCode: 2, wantStderr: []string{"positive Go duration"},
		},
		{
			name: "extend with a negative duration before -- is an unknown flag", args: []string{"extend", "node-1", "-1h"},
			wantCode: 2, wantStderr: []string{"unknown shorthand flag", "-1h", "starter extend NODE DURATION"},
		},
		{
			name: "an unknown flag after the command exits 2 naming it", args: []string{"start", "--bogus"},
			wantCode: 2, wantStderr: []string{"unknown flag: --bogus", "starter start"},
		},
		{
			name: "an unknown flag after nodes --all exits 2 naming it", args: []string{"nodes", "--all", "--bogus"},
			wantCode: 2, wantStderr: []string{"unknown flag: --bogus", "starter nodes [--all]"},
		},
		{
			name: "an unknown flag after NODE exits 2 naming it", args: []string{"describe", "node-1", "--bogus"},
			wantCode: 2, wantStderr: []string{"unknown flag: --bogus", "describe NODE"},
		},
		{
			name: "an unknown flag after drain's NODE exits 2 naming it", args: []string{"drain", "node-1", "--bogus"},
			wantCode: 2, wantStderr: []string{"unknown flag: --bogus", "drain [--grace-period D] NODE [REASON]"},
		},
		{
			name: "a misspelt grace period after NODE exits 2 naming it", args: []string{"drain", "node-1", "--grace", "5m", "retiring"},
			wantCode: 2, wantStderr: []string{"unknown flag: --grace", "drain [--grace-period D] NODE [REASON]"},
		},
		{
			name: "an unknown flag after REASON exits 2 naming it", args: []string{"drain", "node-1", "retiring", "--now"},
			wantCode: 2, wantStderr: []string{"unknown flag: --now"},
		},
		{
			name: "a negative grace period after NODE fails naming the flag", args: []string{"drain", "node-1", "--grace-period=-5m"},
			wantCode: 2, wantStderr: []string{"--grace-period -5m0s must not be negative", "drain [--grace-period D] NODE [REASON]"},
		},
		{
			name: "an unknown flag after cancel-drain's NODE exits 2 naming it", args: []string{"cancel-drain", "node-1", "--bogus"},
			wantCode: 2, wantStderr: []string{"unknown flag: --bogus", "cancel-drain NODE"},
		},
		{
			name: "an unknown flag after extend's DURATION exits 2 naming it", args: []string{"extend", "node-1", "24h", "--bogus"},
			wantCode: 2, wantStderr: []string{"unknown flag: --bogus", "extend NODE DURATION"},
		},
		{
			name: "an unknown flag after convert's FILE exits 2 naming it", args: []string{"convert", "-", "--bogus"},
			wantCode: 2, wantStderr: []string{"unknown flag: --bogus", "convert FILE"},
		},
		{
			name: "an unknown output format exits 2 naming the formats", args: []string{"nodes", "-o", "xml"},
			wantCode: 2, wantStderr: []string{`invalid argument "xml"`, "want one of table, wide, json, yaml"},
		},
		{
			name: "an unknown output format after NODE exits 2 naming the formats", args: []string{"describe", "node-1", "--output=csv"},
			wantCode: 2, wantStderr: []string{`invalid argument "csv"`, "want one of table, wide, json, yaml"},
		},
		{
			name: "a command that prints no state has no -o", args: []string{"drain", "node-1", "-o", "json"},
			wantCode: 2, wantStderr: []string{"unknown shorthand flag: 'o'"},
		},
		{
			name: "an output format after NODE dials Temporal", args: []string{"describe", "node-1", "-o", "yaml"},
			wantCode: 1, wantStderr: []string{"connect to Temporal"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"},
		},
		{
			name: "help after a command exits 0 with usage", args: []string{"drain", "-h"},
			wantCode: 0, wantStderr: []string{"usage: starter", "--grace-period", "--namespace"},
		},
		{
			name: "drain with a grace period dials Temporal", args: []string{"drain", "--grace-period", "5m", "node-1", "maintenance"},
			wantCode: 1, wantStderr: []string{"connect to Temporal"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"},
		},
		{
			name: "start dials the default Temporal address", args: []string{"start"},
			wantCode: 1, wantStderr: []string{"connect to Temporal at 127.0.0.1:7233", "dial refused"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"},
		},
		{
			name: "nodes --all dials Temporal", args: []string{"nodes", "--all"},
			wantCode: 1, wantStderr: []string{"connect to Temporal"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"},
		},
		{
			name: "describe NODE dials the server the environment names", args: []string{"describe", "node-1"},
			env:      map[string]string{"TEMPORAL_ADDRESS": "temporal.svc:7233", "TEMPORAL_NAMESPACE": "nodes"},
			wantCode: 1, wantStderr: []string{"connect to Temporal at temporal.svc:7233 (namespace nodes)"},
			wantDialTo: [2]string{"temporal.svc:7233", "nodes"},
		},
		{
			name:     "drain NODE REASON dials the server the flags name over the environment",
			args:     []string{"--temporal-address", "10.0.0.9:7233", "--namespace", "prod", "drain", "node-1", "retiring"},
			env:      map[string]string{"TEMPORAL_ADDRESS": "temporal.svc:7233", "TEMPORAL_NAMESPACE": "nodes"},
			wantCode: 1, wantStderr: []string{"connect to Temporal at 10.0.0.9:7233"},
			wantDialTo: [2]string{"10.0.0.9:7233", "prod"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			dialer := &dialRecorder{}
			code := runCLI(context.Background(), tt.args, &stdout, &stderr, temporalconn.MapEnv(tt.env), dialer.dial, "test")
			if code != tt.wantCode {
				t.Errorf("starter %q exited %d, want %d; stderr:\n%s", tt.args, code, tt.wantCode, stderr.String())
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("starter %q stderr lacks %q:\n%s", tt.args, want, stderr.String())
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("starter %q wrote to stdout although it did nothing: %q", tt.args, stdout.String())
			}
			switch {
			case tt.wantDialTo == [2]string{} && len(dialer.calls) != 0:
				t.Errorf("starter %q dialed Temporal at %s before rejecting its arguments", tt.args, dialer.calls[0].HostPort)
			case tt.wantDialTo != [2]string{} && len(dialer.calls) != 1:
				t.Errorf("starter %q dialed Temporal %d times, want once", tt.args, len(dialer.calls))
			case tt.wantDialTo != [2]string{}:
				if got := [2]string{dialer.calls[0].HostPort, dialer.calls[0].Namespace}; got != tt.wantDialTo {
					t.Errorf("starter %q dialed %q, want %q", tt.args, got, tt.wantDialTo)
				}
			}
		})
	}
}

// The starter reaches a secured Temporal as the temporal CLI does: an API key from the
// environment turns TLS on and is sent as credentials; a TLS setting that cannot work is a
// usage error before any dial.
func TestCLIConnectsAsTheTemporalCLIDoes(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantCode    int
		wantTLS     bool
		wantCreds   bool
		wantInError string
	}{
		{name: "an API key brings TLS and credentials", args: []string{"nodes"},
			env:      map[string]string{"TEMPORAL_ADDRESS": "us-east-1.aws.api.temporal.io:7233", "TEMPORAL_NAMESPACE": "ns.acct", "TEMPORAL_API_KEY": "k"},
			wantCode: 1, wantTLS: true, wantCreds: true, wantInError: "(namespace ns.acct, TLS, API key)"},
		{name: "--temporal-tls after the command turns TLS on", args: []string{"nodes", "--temporal-tls"},
			wantCode: 1, wantTLS: true, wantInError: "127.0.0.1:7233 (namespace default, TLS)"},
		{name: "an API key with TLS turned off is refused before dialing", args: []string{"nodes"},
			env:      map[string]string{"TEMPORAL_API_KEY": "k", "TEMPORAL_TLS": "false"},
			wantCode: 2, wantInError: "API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			dialer := &dialRecorder{}
			if code := runCLI(context.Background(), tt.args, &stdout, &stderr, temporalconn.MapEnv(tt.env), dialer.dial, "test"); code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantInError) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantInError, stderr.String())
			}
			if tt.wantCode == 2 {
				if len(dialer.calls) != 0 {
					t.Error("dialed although the settings cannot work")
				}
				return
			}
			opts := dialer.calls[0]
			if got := opts.ConnectionOptions.TLS != nil; got != tt.wantTLS {
				t.Errorf("TLS set %v, want %v", got, tt.wantTLS)
			}
			if got := opts.Credentials != nil; got != tt.wantCreds {
				t.Errorf("credentials set %v, want %v", got, tt.wantCreds)
			}
		})
	}
}

// TestMainRejectsBadCommandLines runs the real entry point, which would dial; the address
// points at a closed port, so a dial would surface as exit code 1 rather than 2.
func TestMainRejectsBadCommandLines(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"no command exits 2 with usage", nil, "usage: starter"},
		{"an unknown command exits 2 with usage", []string{"provision"}, "usage: starter"},
		{"describe without NODE exits 2 naming its arguments", []string{"describe"}, "describe NODE"},
		{"drain with three arguments exits 2 naming its arguments", []string{"drain", "a", "b", "c"}, "drain [--grace-period D] NODE [REASON]"},
		{"plan with nothing to plan exits 2 naming what it needs", []string{"plan"}, "plan needs -f FILE, --from-cluster or --live"},
		{"plan --live with files exits 2", []string{"plan", "--live", "-f", "x.yaml"}, "--live plans the cluster's pending pods in the worker"},
		{"plan --live with a region exits 2", []string{"plan", "--live", "--region", "eu-west-1"}, "it takes no --region or --zones"},
		{"plan in a region without prices exits 2 naming the known ones", []string{"plan", "-f", "x.yaml", "--region", "mars-1"}, `--region "mars-1" has no embedded prices; use one of `},
		{"plan with another region's zone exits 2", []string{"plan", "-f", "x.yaml", "--zones", "eu-west-1a"}, `--zones "eu-west-1a" is not a zone of --region us-east-1`},
		{"plan with a zone that is no zone exits 2", []string{"plan", "-f", "x.yaml", "--zones", "us-east-1zz"}, `--zones "us-east-1zz" is not a zone of --region us-east-1`},
	}
	env := temporalconn.MapEnv{"TEMPORAL_ADDRESS": "127.0.0.1:1"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(context.Background(), "test", tt.args, &stdout, &stderr, env); code != 2 {
				t.Errorf("Main(%q) = %d, want 2; stderr:\n%s", tt.args, code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("Main(%q) stderr lacks %q:\n%s", tt.args, tt.wantStderr, stderr.String())
			}
			if strings.Contains(stderr.String(), "connect to Temporal") {
				t.Errorf("Main(%q) tried to connect to Temporal:\n%s", tt.args, stderr.String())
			}
		})
	}
}

// temporalRecorder is a Temporal client that records the first thing the starter asks of it
// and refuses it, so a test sees which flags and arguments reached Temporal. Any call it does
// not override lands on the nil embedded client and panics: an unexpected request.
type temporalRecorder struct {
	client.Client
	dialed   client.Options
	requests []sentRequest
}

// sentRequest is one request to Temporal: what was asked, of which workflow, with what.
type sentRequest struct {
	kind       string
	workflowID string
	arg        any
}

var errRefusedByTest = errors.New("refused by the test")

func (r *temporalRecorder) dial(_ context.Context, opts client.Options) (client.Client, error) {
	r.dialed = opts
	return r, nil
}

func (r *temporalRecorder) Close() {}

func (r *temporalRecorder) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	r.requests = append(r.requests, sentRequest{"start", opts.ID, opts.TaskQueue})
	return nil, errRefusedByTest
}

func (r *temporalRecorder) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	r.requests = append(r.requests, sentRequest{"list", "", req.GetQuery()})
	return nil, errRefusedByTest
}

func (r *temporalRecorder) UpdateWorkflow(_ context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	r.requests = append(r.requests, sentRequest{"update " + opts.UpdateName, opts.WorkflowID, opts.Args[0]})
	return nil, errRefusedByTest
}

func TestCLITakesFlagsWhereverTheyStand(t *testing.T) {
	drain := func(reason string, grace time.Duration) sentRequest {
		return sentRequest{"update " + workflows.UpdateRequestDrain, "node/claim-1", workflows.DrainRequest{Reason: reason, GracePeriod: workflows.Duration(grace)}}
	}
	const running = `WorkflowType = "NodeLifecycleWorkflow" AND ExecutionStatus = "Running"`
	const all = `WorkflowType = "NodeLifecycleWorkflow"`
	tests := []struct {
		name string
		args []string
		// wantDialTo is the host:port and namespace dialed.
		wantDialTo  [2]string
		wantRequest sentRequest
	}{
		{
			name: "a grace period before NODE delays the drain", args: []string{"drain", "--grace-period", "10m", "node/claim-1", "retiring"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"}, wantRequest: drain("retiring", 10*time.Minute),
		},
		{
			name: "a grace period after NODE delays the drain", args: []string{"drain", "node/claim-1", "--grace-period=10m"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"}, wantRequest: drain("manual", 10*time.Minute),
		},
		{
			name: "a grace period between NODE and REASON delays the drain", args: []string{"drain", "node/claim-1", "--grace-period", "10m", "retiring"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"}, wantRequest: drain("retiring", 10*time.Minute),
		},
		{
			name: "a grace period after REASON delays the drain", args: []string{"drain", "node/claim-1", "retiring", "--grace-period", "10m"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"}, wantRequest: drain("retiring", 10*time.Minute),
		},
		{
			name: "a REASON after -- may start with a dash", args: []string{"drain", "node/claim-1", "--", "--grace-period=10m"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"}, wantRequest: drain("--grace-period=10m", 0),
		},
		{
			name: "flags before -- still count when REASON follows it", args: []string{"drain", "node/claim-1", "--grace-period=1m", "--", "-kernel"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"}, wantRequest: drain("-kernel", time.Minute),
		},
		{
			name: "global flags after the command choose the server", args: []string{"drain", "node/claim-1", "retiring", "--namespace", "prod", "--temporal-address=10.0.0.9:7233"},
			wantDialTo: [2]string{"10.0.0.9:7233", "prod"}, wantRequest: drain("retiring", 0),
		},
		{
			name: "global flags before and after the command both count", args: []string{"--namespace", "prod", "drain", "node/claim-1", "--temporal-address", "10.0.0.9:7233"},
			wantDialTo: [2]string{"10.0.0.9:7233", "prod"}, wantRequest: drain("manual", 0),
		},
		{
			name: "nodes lists running workflows only", args: []string{"nodes"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"}, wantRequest: sentRequest{"list", "", running},
		},
		{
			name: "nodes --all lists closed workflows too", args: []string{"nodes", "--all"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"}, wantRequest: sentRequest{"list", "", all},
		},
		{
			name: "a namespace between nodes and --all", args: []string{"nodes", "--namespace", "prod", "--all"},
			wantDialTo: [2]string{"127.0.0.1:7233", "prod"}, wantRequest: sentRequest{"list", "", all},
		},
		{
			name: "plan --live asks the Provisioner's simulate update", args: []string{"plan", "--live", "-o", "json"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"}, wantRequest: sentRequest{"update " + workflows.UpdateSimulate, workflows.ProvisionerID, workflows.SimulateRequest{}},
		},
		{
			name: "a task queue after start reaches the workflows it starts", args: []string{"start", "--task-queue", "q2"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"}, wantRequest: sentRequest{"start", workflows.ProvisionerID, "q2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			temporal := &temporalRecorder{}
			code := runCLI(context.Background(), tt.args, &stdout, &stderr, temporalconn.MapEnv{}, temporal.dial, "test")
			if code != 1 || !strings.Contains(stderr.String(), errRefusedByTest.Error()) {
				t.Errorf("starter %q exited %d, want 1 from the refused request; stderr:\n%s", tt.args, code, stderr.String())
			}
			if got := [2]string{temporal.dialed.HostPort, temporal.dialed.Namespace}; got != tt.wantDialTo {
				t.Errorf("starter %q dialed %q, want %q", tt.args, got, tt.wantDialTo)
			}
			if len(temporal.requests) != 1 || !reflect.DeepEqual(temporal.requests[0], tt.wantRequest) {
				t.Errorf("starter %q sent %+v, want exactly %+v", tt.args, temporal.requests, tt.wantRequest)
			}
		})
	}
}

// A bug that panics exits 1 with its stack, not Go's 2, which would blame the command line.
func TestAPanicExitsOneWithItsStack(t *testing.T) {
	var stdout, stderr bytes.Buffer
	panicking := func(context.Context, client.Options) (client.Client, error) { panic("a bug") }
	code := runCLI(context.Background(), []string{"start"}, &stdout, &stderr, temporalconn.MapEnv(nil), panicking, "test")
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	for _, want := range []string{"internal error, please report it", "a bug", "goroutine"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
