package dryrun

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/activities/market"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
	"github.com/nodewright/nodewright/starter/advise"
)

// Input is what a dry run plans: the files' objects and, with --from-cluster, the cluster's,
// within the ClusterPolicy named default among them.
type Input struct {
	Files advise.Snapshot
	// Cluster holds the cluster's NodePools and EC2NodeClasses (with their status); nil
	// without --from-cluster.
	Cluster *advise.Snapshot
	// State is the cluster's pods, nodes, DaemonSets, namespaces and volumes, as the planner
	// reads them; empty without --from-cluster.
	State activities.ClusterState
}

// Options are the market the plan is priced in.
type Options struct {
	// Region's embedded on-demand prices and Spot Advisor figures price the plan.
	Region string
	// Zones are where an EC2NodeClass read from a file (which has no status) is taken to
	// have subnets; default the region's a, b and c.
	Zones []string
}

// Run plans the input with the planner's own dry run and returns it with warnings about
// what the plan leaves out or assumes.
func Run(ctx context.Context, in Input, o Options) (activities.Simulation, []string, error) {
	types, err := catalog.Load()
	if err != nil {
		return activities.Simulation{}, nil, fmt.Errorf("plan: load the instance-type catalog: %w", err)
	}
	snap, err := market.Embedded(types, o.Region)
	if err != nil {
		return activities.Simulation{}, nil, fmt.Errorf("plan: --region: %w", err)
	}
	zones := o.Zones
	if len(zones) == 0 {
		zones = []string{o.Region + "a", o.Region + "b", o.Region + "c"}
	}
	pools, classes, warnings, err := poolsAndClasses(in, zones)
	if err != nil {
		return activities.Simulation{}, warnings, err
	}
	limits, w, err := clusterLimits(in)
	warnings = append(warnings, w...)
	if err != nil {
		return activities.Simulation{}, warnings, err
	}
	planner := &activities.Planner{
		Market: fixedMarket{snap}, Pools: activities.StaticNodePools(pools), Classes: classes, Catalog: types,
		Limits: activities.StaticClusterLimits(limits),
	}
	state, err := withFiles(in.State, in.Files)
	if err != nil {
		return activities.Simulation{}, warnings, fmt.Errorf("plan: %w", err)
	}
	sim, err := activities.DryRun(ctx, planner, state, activities.PlanRequest{})
	if sim.Market != nil {
		st := sim.Market
		for _, s := range []*market.SourceStatus{&st.InstanceTypes, &st.Offerings, &st.OnDemand, &st.Spot} {
			s.Reason = "dry run: the embedded catalog's figures for " + o.Region
		}
	}
	return sim, warnings, err
}

// withFiles is the cluster's state with the files' workloads added as `kubectl apply` would
// add them: a file's Pod or DaemonSet replaces the cluster's of the same namespace and name, a
// file's Deployment, StatefulSet, ReplicaSet or Job the cluster's pods of the workload of its
// name (its replicas take their place, on the room they leave), and replicas are named apart
// from the cluster's pods.
func withFiles(state activities.ClusterState, files advise.Snapshot) (activities.ClusterState, error) {
	filePods := map[string]bool{}
	for _, p := range files.Pods {
		filePods[p.Namespace+"/"+p.Name] = true
	}
	replaced := replacedOwners(files)
	taken := map[string]bool{}
	state.Pods = slices.DeleteFunc(slices.Clone(state.Pods), func(p corev1.Pod) bool {
		return filePods[p.Namespace+"/"+p.Name] || ownedBy(&p, replaced)
	})
	for _, p := range state.Pods {
		taken[p.Namespace+"/"+p.Name] = true
	}
	pods, err := Pods(files, taken)
	if err != nil {
		return state, err
	}
	state.Pods = append(state.Pods, pods...)

	fileDaemons := map[string]bool{}
	daemonSets := make([]appsv1.DaemonSet, len(files.DaemonSets))
	for i := range files.DaemonSets {
		d := files.DaemonSets[i].DeepCopy() // admission defaults its requests
		fileDaemons[d.Namespace+"/"+d.Name] = true
		if err := admitPodSpec(&d.Spec.Template.Spec); err != nil {
			return state, fmt.Errorf("%s %s/%s: spec.template.%w", "DaemonSet", d.Namespace, d.Name, err)
		}
		daemonSets[i] = *d
	}
	// The planner reads a DaemonSet as one pod named after it (activities.DaemonPods).
	state.Daemons = slices.DeleteFunc(slices.Clone(state.Daemons), func(p *corev1.Pod) bool {
		return fileDaemons[p.Namespace+"/"+p.Name]
	})
	state.Daemons = append(state.Daemons, activities.DaemonPods(daemonSets)...)
	return state, nil
}

// replacedOwners are the owners, "Kind namespace/name", of the cluster pods the files'
// workloads replace: their own names, and a Deployment's ReplicaSets, which are named
// <deployment>-<pod-template-hash> (matched in ownedBy).
func replacedOwners(files advise.Snapshot) map[string]bool {
	out := map[string]bool{}
	for _, d := range files.Deployments {
		out["Deployment "+d.Namespace+"/"+d.Name] = true
	}
	for _, st := range files.StatefulSets {
		out["StatefulSet "+st.Namespace+"/"+st.Name] = true
	}
	for _, rs := range files.ReplicaSets {
		out["ReplicaSet "+rs.Namespace+"/"+rs.Name] = true
	}
	for _, j := range files.Jobs {
		out["Job "+j.Namespace+"/"+j.Name] = true
	}
	return out
}

// ownedBy reports whether the pod's controller is one of owners, or a ReplicaSet of one of
// owners' Deployments.
func ownedBy(p *corev1.Pod, owners map[string]bool) bool {
	ref := metav1.GetControllerOf(p)
	if ref == nil {
		return false
	}
	if owners[ref.Kind+" "+p.Namespace+"/"+ref.Name] {
		return true
	}
	hash := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	deployment, ok := strings.CutSuffix(ref.Name, "-"+hash)
	return ref.Kind == "ReplicaSet" && hash != "" && ok && owners["Deployment "+p.Namespace+"/"+deployment]
}

// fixedMarket is a market that does not change: the embedded one of a region.
type fixedMarket struct{ snap *market.Snapshot }

func (m fixedMarket) Snapshot() *market.Snapshot { return m.snap }

// poolsAndClasses are the NodePools the plan may launch from, by name (a file's replaces the
// cluster's of the same name), and the EC2NodeClasses resolved as the worker would have them.
func poolsAndClasses(in Input, zones []string) ([]apisv1.NodePool, classSource, []string, error) {
	var warnings []string
	pools := map[string]apisv1.NodePool{}
	classes := classSource{}
	if in.Cluster != nil {
		for _, p := range in.Cluster.NodePools {
			if cond := apimeta.FindStatusCondition(p.Status.Conditions, apisv1.ConditionReady); cond != nil && cond.Status != "True" {
				warnings = append(warnings, fmt.Sprintf("NodePool %s is not Ready in the cluster (%s): it launches nothing", p.Name, cond.Message))
				continue
			}
			pools[p.Name] = p
		}
		for _, c := range in.Cluster.NodeClasses {
			if !apimeta.IsStatusConditionTrue(c.Status.Conditions, awsv1.ConditionReady) || len(c.Status.Subnets) == 0 {
				warnings = append(warnings, fmt.Sprintf("EC2NodeClass %s is not Ready in the cluster: its pools launch nothing", c.Name))
				continue
			}
			classes[c.Name] = c
		}
	}
	for _, p := range in.Files.NodePools {
		pools[p.Name] = p
	}
	for _, c := range in.Files.NodeClasses {
		resolved, err := assumeResolved(c, zones)
		if err != nil {
			return nil, nil, warnings, fmt.Errorf("plan: EC2NodeClass %s: %w", c.Name, err)
		}
		classes[c.Name] = resolved
	}
	if len(pools) == 0 {
		return nil, nil, warnings, fmt.Errorf("plan: no NodePool to launch from: give a file with NodePools (-f) or read the cluster's (--from-cluster)")
	}
	out := make([]apisv1.NodePool, 0, len(pools))
	for _, name := range slices.Sorted(maps.Keys(pools)) {
		p := pools[name]
		if _, ok := classes[p.Spec.Template.Spec.NodeClassRef.Name]; !ok {
			warnings = append(warnings, fmt.Sprintf("NodePool %s: its EC2NodeClass %s is in neither the files nor the cluster: it launches nothing", name, p.Spec.Template.Spec.NodeClassRef.Name))
		}
		out = append(out, p)
	}
	return out, classes, warnings, nil
}

// assumeResolved is a class read from a file as the worker would resolve it, without asking
// AWS: a subnet in each of the zones, and for an alias the AMIs of its variants (an AMI
// chosen by id, name or tags is taken to suit every instance type).
func assumeResolved(c awsv1.EC2NodeClass, zones []string) (awsv1.EC2NodeClass, error) {
	c.Status.Subnets = nil
	for _, z := range zones {
		c.Status.Subnets = append(c.Status.Subnets, awsv1.Subnet{ID: "subnet-" + z, Zone: z})
	}
	c.Status.AMIs = []awsv1.AMI{{Name: "any"}}
	if terms := c.Spec.AMISelectorTerms; len(terms) == 1 && terms[0].Alias != "" {
		amis, err := activities.AliasAMIs(terms[0].Alias)
		if err != nil {
			return c, err
		}
		c.Status.AMIs = amis
	}
	return c, nil
}

// classSource is the resolved classes by name, as the planner asks for them.
type classSource map[string]awsv1.EC2NodeClass

func (s classSource) NodeClass(name string) (*awsv1.EC2NodeClass, bool) {
	c, ok := s[name]
	if !ok {
		return nil, false
	}
	return c.DeepCopy(), true
}

var _ activities.NodeClassSource = classSource(nil)
