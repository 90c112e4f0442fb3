package activities

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/nodewright/nodewright/activities/market"
	"github.com/nodewright/nodewright/schedulerengine"
)

// ClusterState is what a plan reads of the cluster besides NodePools, classes and the
// market: pods (pending and bound), nodes, a pod per DaemonSet, namespace labels and volumes.
type ClusterState struct {
	Pods       []corev1.Pod
	Nodes      []corev1.Node
	Daemons    []*corev1.Pod
	Namespaces map[string]map[string]string
	Volumes    *schedulerengine.Volumes
}

// ReadCluster reads the cluster's state from the API server as the planner reads it for each
// plan.
func ReadCluster(ctx context.Context, kube kubernetes.Interface) (ClusterState, error) {
	return readClusterFrom(ctx, APIReader{Kube: kube}, kube)
}

// readClusterFrom reads the cluster's state, its pods and nodes from cluster.
func readClusterFrom(ctx context.Context, cluster ClusterReader, kube kubernetes.Interface) (ClusterState, error) {
	pods, err := cluster.Pods(ctx)
	if err != nil {
		return ClusterState{}, err
	}
	return readCluster(ctx, cluster, kube, pods)
}

// readCluster reads the rest of the cluster's state once its pods are listed.
func readCluster(ctx context.Context, cluster ClusterReader, kube kubernetes.Interface, pods []corev1.Pod) (ClusterState, error) {
	nodes, err := cluster.Nodes(ctx)
	if err != nil {
		return ClusterState{}, err
	}
	daemons, namespaces, err := daemonsAndNamespaces(ctx, kube)
	if err != nil {
		return ClusterState{}, err
	}
	vols, err := volumes(ctx, kube)
	if err != nil {
		return ClusterState{}, err
	}
	return ClusterState{Pods: pods, Nodes: nodes, Daemons: daemons, Namespaces: namespaces, Volumes: vols}, nil
}

// Simulation is a plan nothing launches: the nodes the Provisioner would start for the pods
// pending now, where each pod would go, and which stay pending and why.
type Simulation struct {
	// Pods counts the pending pods planned; Nominated those left to in-flight claims.
	Pods      int `json:"pods"`
	Nominated int `json:"nominated,omitempty"`
	// Nodes are the claims the plan makes, as the Provisioner would start them: each with
	// its pool, instance types cheapest first, zones, capacity types, price and pods.
	Nodes []Claim `json:"nodes"`
	// MoreNodes counts the claims left out of Nodes to keep the answer small.
	MoreNodes int `json:"moreNodes,omitempty"`
	// Existing maps pod keys to the existing node each fits on; OnExisting counts them all.
	Existing   map[string]string `json:"existing,omitempty"`
	OnExisting int               `json:"onExisting,omitempty"`
	// Unschedulable maps pod keys to the engine's reason, per NodePool, that no node can
	// take them; UnschedulableCount counts them all.
	Unschedulable      map[string]string `json:"unschedulable,omitempty"`
	UnschedulableCount int               `json:"unschedulableCount,omitempty"`
	// CostPerHour is what the nodes cost together per hour, each at its cheapest offering;
	// CostLowerBound is the least any plan for their pods could cost.
	CostPerHour    float64 `json:"costPerHour"`
	CostLowerBound float64 `json:"costLowerBound"`
	// Market says where the prices came from.
	Market *market.Status `json:"market,omitempty"`
}

// DryRun plans the state's pending pods exactly as Plan does (same pools, classes, market,
// unavailable offerings and in-flight claims), and launches nothing. A pod counts as
// pending as it does for Plan: unbound, with the kube-scheduler's Unschedulable condition.
func DryRun(ctx context.Context, p *Planner, state ClusterState, req PlanRequest) (Simulation, error) {
	held, err := p.heldPods(ctx, req.InFlight, req.Holding)
	if err != nil {
		return Simulation{}, fmt.Errorf("dry run: %w", err)
	}
	pending, nominated := pendingPods(state.Pods, held)
	sim := Simulation{Pods: len(pending), Nominated: nominated, Nodes: []Claim{}}
	if len(pending) == 0 {
		return sim, nil
	}
	s, err := p.solve(ctx, state, pending, req)
	if err != nil {
		return Simulation{}, fmt.Errorf("dry run: %w", err)
	}
	sim.Nodes = s.claims
	sim.Existing, sim.OnExisting = s.plan.Existing, len(s.plan.Existing)
	sim.Unschedulable, sim.UnschedulableCount = s.plan.Unschedulable, len(s.plan.Unschedulable)
	sim.CostPerHour, sim.CostLowerBound = s.plan.Cost, s.plan.CostLowerBound
	sim.Market = marketStatus(s.market)
	return sim, nil
}

// Simulate is the Provisioner's dry run against live state: the plan Plan would make now,
// cut to fit a workflow history (the claims within maxClaimBytes, a sample of the pods on
// existing nodes and of the reasons). It launches nothing and records no event.
func (p *Planner) Simulate(ctx context.Context, req PlanRequest) (Simulation, error) {
	state, err := readClusterFrom(ctx, p.cluster(), p.Kube)
	if err != nil {
		return Simulation{}, fmt.Errorf("simulate: %w", err)
	}
	sim, err := DryRun(ctx, p, state, req)
	if err != nil {
		return Simulation{}, err
	}
	return sim.bounded(), nil
}

// bounded cuts the simulation to what a workflow history holds; the counts stay whole.
func (s Simulation) bounded() Simulation {
	kept, _ := claimsWithin(s.Nodes, maxClaimBytes)
	s.MoreNodes += len(s.Nodes) - len(kept)
	s.Nodes = kept
	s.Unschedulable, _ = sampleReasons(s.Unschedulable)
	s.Existing = sampleExisting(s.Existing)
	return s
}

// sampleExisting keeps the first maxReasonsReported placements by pod key.
func sampleExisting(placed map[string]string) map[string]string {
	if len(placed) <= maxReasonsReported {
		return placed
	}
	out := make(map[string]string, maxReasonsReported)
	for _, key := range slices.Sorted(maps.Keys(placed))[:maxReasonsReported] {
		out[key] = placed[key]
	}
	return out
}
