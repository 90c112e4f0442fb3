package dryrun

import (
	"context"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/apis/loader"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
	"github.com/nodewright/nodewright/starter/advise"
)

// filesOf reads manifests as starter plan -f does.
func filesOf(t *testing.T, manifests ...string) advise.Snapshot {
	t.Helper()
	ld, err := loader.New()
	if err != nil {
		t.Fatal(err)
	}
	var s advise.Snapshot
	for i, m := range manifests {
		if _, err := advise.AddManifest(context.Background(), ld, "file"+string(rune('1'+i)), []byte(m), &s); err != nil {
			t.Fatalf("read manifest %d: %v", i+1, err)
		}
	}
	return s
}

// readFile reads a test fixture.
func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// seedPools are the seed's NodePools and EC2NodeClass.
func seedPools(t *testing.T) string {
	return readFile(t, "../../apis/loader/testdata/seed-v1beta1.yaml")
}

// seedWorkloads are the seed test's workloads, in namespace shop.
func seedWorkloads(t *testing.T) string { return readFile(t, "testdata/seed-workloads.yaml") }

// The seed's workloads on the seed's pools: a node per pool, each priced at the region's
// embedded on-demand price of its cheapest type, and the plan's cost their sum.
func TestRunPricesEachNodeAtTheRegionsEmbeddedPrice(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		t.Run(region, func(t *testing.T) {
			sim, _, err := Run(context.Background(), Input{Files: filesOf(t, seedWorkloads(t), seedPools(t))}, Options{Region: region})
			if err != nil {
				t.Fatal(err)
			}
			prices, err := catalog.OnDemandPrices(types, region)
			if err != nil {
				t.Fatal(err)
			}
			pools := map[string][]string{}
			sum := 0.0
			for _, n := range sim.Nodes {
				pools[n.NodePool] = append(pools[n.NodePool], n.Pods...)
				if want := prices[n.InstanceTypes[0]]; n.PricePerHour != want {
					t.Errorf("%s node of %s costs $%.4f/h, want %s's embedded $%.4f/h", n.NodePool, n.InstanceTypes[0], n.PricePerHour, region, want)
				}
				if !slices.Equal(n.Zones, []string{region + "a", region + "b", region + "c"}) {
					t.Errorf("%s node in zones %q, want the region's a, b and c", n.NodePool, n.Zones)
				}
				sum += n.PricePerHour
			}
			if !slices.Equal(pools["gpu"], []string{"shop/train-0"}) || len(pools["generalcompute"]) != 3 || len(sim.Nodes) != 2 {
				t.Errorf("plan put %v on %d nodes, want train-0 on a gpu node and the three web pods on one generalcompute node", pools, len(sim.Nodes))
			}
			if math.Abs(sim.CostPerHour-sum) > 1e-9 || sim.CostLowerBound <= 0 || sim.CostLowerBound > sim.CostPerHour {
				t.Errorf("plan costs $%.4f/h with lower bound $%.4f/h, want the nodes' sum $%.4f/h above a positive bound", sim.CostPerHour, sim.CostLowerBound, sum)
			}
		})
	}
}

// A pool whose class is nowhere launches nothing: its pods stay pending, and a warning says
// why.
func TestRunWarnsOfAPoolWithoutItsClass(t *testing.T) {
	pools := strings.Split(seedPools(t), "\n---\n")
	withoutClass := strings.Join(pools[:2], "\n---\n")
	sim, warnings, err := Run(context.Background(), Input{Files: filesOf(t, seedWorkloads(t), withoutClass)}, Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sim.Nodes) != 0 || sim.UnschedulableCount != 4 {
		t.Errorf("plan launches %d nodes and leaves %d pods pending, want none launched and all 4 pending", len(sim.Nodes), sim.UnschedulableCount)
	}
	if !slices.ContainsFunc(warnings, func(w string) bool {
		return strings.Contains(w, "EC2NodeClass default is in neither the files nor the cluster")
	}) {
		t.Errorf("warnings %q do not say the class is missing", warnings)
	}
}

// With the cluster read, a pod that fits an existing node goes there and nothing launches.
func TestRunPlacesPodsOnTheClustersNodes(t *testing.T) {
	node := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "ip-10-0-0-1", Labels: map[string]string{
			"billing-team": "my-team", apisv1.LabelNodePool: "generalcompute", "kubernetes.io/os": "linux", apisv1.LabelArch: "amd64"}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	web := strings.Split(seedWorkloads(t), "\n---\n")[1]
	in := Input{Files: filesOf(t, web, seedPools(t)), Cluster: &advise.Snapshot{}, State: activities.ClusterState{Nodes: []corev1.Node{node}}}
	sim, _, err := Run(context.Background(), in, Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sim.Nodes) != 0 || sim.OnExisting != 3 || sim.Existing["shop/web-0"] != node.Name {
		t.Errorf("plan launches %d nodes and puts %v on existing nodes, want the three web pods on %s", len(sim.Nodes), sim.Existing, node.Name)
	}
}

// The worker plans within the default ClusterPolicy; so does the dry run, or it promises
// nodes the worker will not launch.
func TestRunPlansWithinTheDefaultClusterPolicy(t *testing.T) {
	policy := func(name, maxHourlyCost string) string {
		return "apiVersion: nodewright.io/v1alpha1\nkind: ClusterPolicy\nmetadata: {name: " + name + "}\nspec: {maxHourlyCost: \"" + maxHourlyCost + "\"}\n"
	}
	tests := []struct {
		name      string
		files     []string
		cluster   []string
		wantNodes bool
		wantErr   string
	}{
		{name: "a file's policy caps the cost", files: []string{policy("default", "0.01")}},
		{name: "the cluster's policy caps the cost", cluster: []string{policy("default", "0.01")}},
		{name: "a file's policy wins over the cluster's", files: []string{policy("default", "1000")}, cluster: []string{policy("default", "0.01")}, wantNodes: true},
		{name: "a policy of another name is ignored", files: []string{policy("other", "0.01")}, wantNodes: true},
		{name: "an unreadable limit names its field", files: []string{policy("default", "$5")}, wantErr: "spec.maxHourlyCost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Files: filesOf(t, append([]string{seedWorkloads(t), seedPools(t)}, tt.files...)...)}
			if tt.cluster != nil {
				cluster := filesOf(t, tt.cluster...)
				in.Cluster = &cluster
			}
			sim, _, err := Run(context.Background(), in, Options{Region: "us-east-1"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run = %v, want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(sim.Nodes) > 0; got != tt.wantNodes {
				t.Fatalf("plan launches %d nodes (pending: %v), want nodes = %v", len(sim.Nodes), sim.Unschedulable, tt.wantNodes)
			}
			if !tt.wantNodes {
				for pod, why := range sim.Unschedulable {
					if !strings.Contains(why, "cluster hourly cost") {
						t.Errorf("pod %s pending because %q, want the cluster's cost limit", pod, why)
					}
				}
			}
		})
	}
}

func TestRunRefusesARegionWithoutEmbeddedPrices(t *testing.T) {
	_, _, err := Run(context.Background(), Input{Files: filesOf(t, seedWorkloads(t), seedPools(t))}, Options{Region: "mars-north-1"})
	if err == nil || !strings.Contains(err.Error(), "--region") {
		t.Errorf("Run in mars-north-1 = %v, want an error naming --region", err)
	}
}
