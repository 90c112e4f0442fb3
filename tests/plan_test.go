package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/starter"
	"github.com/nodewright/nodewright/worker"
	"github.com/nodewright/nodewright/worker/temporalconn"
)

// planWorkloads are the seed test's workloads, in one manifest as a user applies them (a GPU
// trainer for the gpu pool and three web replicas for generalcompute), in namespace ns.
func planWorkloads(t *testing.T, ns string) string {
	t.Helper()
	data, err := os.ReadFile("../starter/dryrun/testdata/seed-workloads.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(data), "namespace: shop", "namespace: "+ns)
}

// starter plan -f on the seed's workloads and NodePools, against the lab's nodes and
// DaemonSets, prints the nodes the worker then launches for the same manifests: as many, of
// the same pools and instance types, at the same total price. While the Provisioner holds the
// pods' batch, starter plan --live (its simulate update, at the worker's live prices) says
// the same.
func TestPlanMatchesWhatTheWorkerLaunches(t *testing.T) {
	seed, err := os.ReadFile("../apis/loader/testdata/seed-v1beta1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pools := strings.ReplaceAll(string(seed), "my-cluster", "lab")
	// The plan reads every pending pod of the cluster, as the worker does: another test's
	// leftover would be planned, or given a node by this test's worker, and the two would
	// differ. Wait for them to go before the worker starts.
	waitNoPendingPods(t)
	// A batch window long enough to ask the Provisioner what it is about to launch.
	e := startAPIEnv(t, pools, func(e *env) {
		e.configure = func(c *worker.Config) { c.BatchIdle, c.BatchMax = liveBatch, liveBatch }
	})
	dir := t.TempDir()
	write := func(name, content string) string {
		path := dir + "/" + name
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	workloads, poolsFile := write("workloads.yaml", planWorkloads(t, e.ns)), write("seed.yaml", pools)

	args := []string{"plan", "-f", workloads, "-f", poolsFile, "--from-cluster", "--kubeconfig", lab.Kube.AdminKubeconfig, "--region", lab.Region}
	var stdout, stderr bytes.Buffer
	if code := starter.Main(e.ctx, "test", append(args, "-o", "json"), &stdout, &stderr, temporalconn.MapEnv(nil)); code != 0 {
		t.Fatalf("starter plan exited %d:\n%s", code, stderr.String())
	}
	var plan activities.Simulation
	if err := json.Unmarshal(stdout.Bytes(), &plan); err != nil {
		t.Fatalf("starter plan -o json: %v\n%s", err, stdout.String())
	}
	stdout.Reset()
	starter.Main(e.ctx, "test", args, &stdout, &stderr, temporalconn.MapEnv(nil))
	t.Logf("starter plan -f workloads.yaml -f seed.yaml --from-cluster:\n%s", stdout.String())
	planned := plannedNodes(plan)

	applyManifest(t, planWorkloads(t, e.ns))
	live := e.planLive(len(plan.Nodes))
	if got := plannedNodes(live); !slices.Equal(got, planned) {
		t.Errorf("starter plan --live planned %q, starter plan -f %q", got, planned)
	}
	if math.Abs(live.CostPerHour-plan.CostPerHour) > 1e-6 {
		t.Errorf("starter plan --live costs $%.4f/h, starter plan -f $%.4f/h", live.CostPerHour, plan.CostPerHour)
	}
	e.allBound(4)
	var launched []string
	var cost float64
	e.eventually("the launched nodes' workflows show type and price", time.Minute, func() (bool, string) {
		rows, err := e.op.Nodes(e.ctx, false)
		if err != nil {
			return false, err.Error()
		}
		launched, cost = nil, 0
		for _, r := range rows {
			if r.NodePool == "gpu" || r.NodePool == "generalcompute" {
				launched = append(launched, r.NodePool+" "+r.InstanceType)
				cost += r.PricePerHour
			}
		}
		slices.Sort(launched)
		return len(launched) == len(planned) && cost > 0, fmt.Sprintf("launched %q for $%.4f/h", launched, cost)
	})
	if !slices.Equal(launched, planned) {
		t.Errorf("the worker launched %q, the plan said %q", launched, planned)
	}
	if math.Abs(cost-plan.CostPerHour) > 1e-6 {
		t.Errorf("the worker's nodes cost $%.4f/h, the plan said $%.4f/h", cost, plan.CostPerHour)
	}
}

// liveBatch is the worker's batch window in TestPlanMatchesWhatTheWorkerLaunches: the
// Provisioner plans nothing for this long after the first pod is pending.
const liveBatch = 20 * time.Second

// plannedNodes lists a plan's nodes as "pool cheapest-type", sorted.
func plannedNodes(sim activities.Simulation) []string {
	var out []string
	for _, n := range sim.Nodes {
		out = append(out, n.NodePool+" "+n.InstanceTypes[0])
	}
	slices.Sort(out)
	return out
}

// planLive runs starter plan --live until the Provisioner, started by the first pending pod,
// answers with a plan of want nodes.
func (e *env) planLive(want int) activities.Simulation {
	e.t.Helper()
	env := temporalconn.MapEnv{"TEMPORAL_ADDRESS": lab.Temporal.FrontendAddress(), "TEMPORAL_NAMESPACE": lab.Temporal.Namespace()}
	var sim activities.Simulation
	e.eventually(fmt.Sprintf("starter plan --live plans %d nodes", want), liveBatch, func() (bool, string) {
		var stdout, stderr bytes.Buffer
		if code := starter.Main(e.ctx, "test", []string{"plan", "--live", "-o", "json"}, &stdout, &stderr, env); code != 0 {
			return false, fmt.Sprintf("exit %d: %s", code, stderr.String())
		}
		sim = activities.Simulation{}
		if err := json.Unmarshal(stdout.Bytes(), &sim); err != nil {
			return false, fmt.Sprintf("starter plan --live -o json: %v: %s", err, stdout.String())
		}
		return len(sim.Nodes) == want, fmt.Sprintf("%d pending pods planned on %q", sim.Pods, plannedNodes(sim))
	})
	var table, stderr bytes.Buffer
	starter.Main(e.ctx, "test", []string{"plan", "--live"}, &table, &stderr, env)
	e.t.Logf("starter plan --live:\n%s", table.String())
	return sim
}

// waitNoPendingPods waits until no pod in the cluster waits for a node as the planner counts
// them (activities.Unschedulable).
func waitNoPendingPods(t *testing.T) {
	t.Helper()
	if last, ok := pollPods(t, time.Minute, "", activities.Unschedulable); !ok {
		t.Fatalf("pods of other tests still pending after a minute: %s", last)
	}
}
