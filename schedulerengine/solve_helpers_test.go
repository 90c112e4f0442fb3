package schedulerengine

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// outcome is what happened to the pod "default/pod"; empty fields are not checked.
type outcome struct {
	pool          string // placed on a new claim of this pool
	instanceType  string // the claim's cheapest type
	node          string // placed on this existing node
	unschedulable string // a substring of the reason
	labels        map[string]string
	zones         []string
	capacityTypes []string
}

type solveCase struct {
	name      string
	pods      []*corev1.Pod
	pools     []v1.NodePool // defaults to one pool "default" with no requirements
	existing  []ExistingNode
	committed []CommittedCapacity
	daemons   []*corev1.Pod
	sized     map[string]map[string]corev1.ResourceList // Input.PoolAllocatable
	cluster   ClusterLimits
	want      outcome
}

func runSolveCases(t *testing.T, cases []solveCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pools := tc.pools
			if pools == nil {
				pools = []v1.NodePool{nodePool("default")}
			}
			plan, err := Solve(Input{Pods: tc.pods, NodePools: pools, InstanceTypes: smallCatalog(), ExistingNodes: tc.existing, DaemonSetPods: tc.daemons, Committed: tc.committed, PoolAllocatable: tc.sized, ClusterLimits: tc.cluster})
			if err != nil {
				t.Fatalf("Solve: %v", err)
			}
			assertOutcome(t, plan, "default/pod", tc.want)
		})
	}
}

func assertOutcome(t *testing.T, plan Plan, key string, want outcome) {
	t.Helper()
	if want.unschedulable != "" {
		reason, ok := plan.Unschedulable[key]
		if !ok {
			t.Fatalf("pod %s was placed (%s), want unschedulable with %q", key, describePlacement(plan, key), want.unschedulable)
		}
		if !strings.Contains(reason, want.unschedulable) {
			t.Fatalf("pod %s unschedulable because\n  %s\nwant a reason containing\n  %s", key, reason, want.unschedulable)
		}
		return
	}
	if reason, ok := plan.Unschedulable[key]; ok {
		t.Fatalf("pod %s not scheduled: %s", key, reason)
	}
	if want.node != "" {
		if got := plan.Existing[key]; got != want.node {
			t.Fatalf("pod %s placed %s, want existing node %s", key, describePlacement(plan, key), want.node)
		}
		return
	}
	nc, ok := claimOf(plan, key)
	if !ok {
		t.Fatalf("pod %s placed %s, want a new node", key, describePlacement(plan, key))
	}
	if want.pool != "" && nc.NodePool != want.pool {
		t.Errorf("pod %s got a node from NodePool %q, want %q", key, nc.NodePool, want.pool)
	}
	if want.instanceType != "" && nc.InstanceTypes[0] != want.instanceType {
		t.Errorf("pod %s got cheapest type %s (options %v), want %s", key, nc.InstanceTypes[0], nc.InstanceTypes, want.instanceType)
	}
	for k, v := range want.labels {
		if nc.Labels[k] != v {
			t.Errorf("node for pod %s has label %s=%q, want %q (labels %v)", key, k, nc.Labels[k], v, nc.Labels)
		}
	}
	if want.zones != nil && !slices.Equal(nc.Zones, want.zones) {
		t.Errorf("node for pod %s may use zones %v, want %v", key, nc.Zones, want.zones)
	}
	if want.capacityTypes != nil && !slices.Equal(nc.CapacityTypes, want.capacityTypes) {
		t.Errorf("node for pod %s may use capacity types %v, want %v", key, nc.CapacityTypes, want.capacityTypes)
	}
}

func claimOf(plan Plan, key string) (NodeClaim, bool) {
	for _, nc := range plan.NewNodes {
		if slices.Contains(nc.Pods, key) {
			return nc, true
		}
	}
	return NodeClaim{}, false
}

func describePlacement(plan Plan, key string) string {
	if n, ok := plan.Existing[key]; ok {
		return "on existing node " + n
	}
	if nc, ok := claimOf(plan, key); ok {
		return "on a new " + nc.InstanceTypes[0] + " from NodePool " + nc.NodePool
	}
	if r, ok := plan.Unschedulable[key]; ok {
		return "nowhere: " + r
	}
	return "nowhere and without a reason"
}
