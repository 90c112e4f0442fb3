package advise

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"

	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// Rule is one practice: its id, how much a breach matters, what it checks, and the check.
type Rule struct {
	ID       string
	Severity Severity
	Title    string
	check    func(v *view) []Finding
}

// Rules are the practices Check applies, in the order they are documented.
func Rules() []Rule {
	return []Rule{
		{"pod-requests", Error, "pods without CPU or memory requests", podRequests},
		{"memory-limit-equals-request", Warning, "memory limit other than the request on pods in pools that consolidate", memoryLimitEqualsRequest},
		{"nodepool-no-instance-types", Error, "NodePools whose requirements leave no instance type", nodePoolNoInstanceTypes},
		{"nodepool-overlap", Warning, "NodePools that may launch the same offering at the same weight", nodePoolOverlap},
		{"spot-instance-types", Warning, "spot NodePools allowing fewer than 15 instance types", spotInstanceTypes},
		{"nodepool-limits", Warning, "NodePools without limits", nodePoolLimits},
		{"disruption-budgets", Info, "NodePools with no disruption budget", disruptionBudgets},
		{"worker-on-managed-node", Error, "the worker on, or allowed onto, nodes it manages", workerOnManagedNode},
		{"pdb-missing", Warning, "Deployments and StatefulSets of more than one replica without a PodDisruptionBudget", pdbMissing},
		{"pdb-blocks-eviction", Error, "PodDisruptionBudgets that never allow an eviction", pdbBlocksEviction},
		{"do-not-disrupt-forever", Warning, "karpenter.sh/do-not-disrupt=true on pods that never finish", doNotDisruptForever},
		{"spot-expire-never", Warning, "expireAfter: Never on NodePools that launch spot", spotExpireNever},
	}
}

// Check applies every rule to the snapshot and returns the findings, errors first, then by
// rule and object. An error means a NodePool's requirements cannot be read.
func Check(s Snapshot, cfg Config) ([]Finding, error) {
	v, err := newView(&s, cfg)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, r := range Rules() {
		for _, f := range r.check(v) {
			f.Rule, f.Severity = r.ID, r.Severity
			out = append(out, f)
		}
	}
	sortFindings(out)
	return out, nil
}

// view is the snapshot indexed for the rules; built once per Check.
type view struct {
	cfg       Config
	pools     []*apisv1.NodePool // by name
	poolTypes map[string][]schedulerengine.InstanceType
	nodes     map[string]*corev1.Node
	all       []*workload // every workload, skipped namespaces included
	s         *Snapshot
}

func newView(s *Snapshot, cfg Config) (*view, error) {
	v := &view{cfg: cfg, s: s, poolTypes: map[string][]schedulerengine.InstanceType{}, nodes: map[string]*corev1.Node{}}
	for i := range s.NodePools {
		p := &s.NodePools[i]
		types, err := schedulerengine.PoolInstanceTypes(p, cfg.InstanceTypes)
		if err != nil {
			return nil, err
		}
		v.pools = append(v.pools, p)
		v.poolTypes[p.Name] = types
	}
	slices.SortFunc(v.pools, func(a, b *apisv1.NodePool) int { return cmp.Compare(a.Name, b.Name) })
	for i := range s.Nodes {
		v.nodes[s.Nodes[i].Name] = &s.Nodes[i]
	}
	v.all = workloads(s)
	return v, nil
}

// workloads are the workloads outside the skipped namespaces.
func (v *view) workloads() []*workload {
	return slices.DeleteFunc(slices.Clone(v.all), func(w *workload) bool {
		return slices.Contains(v.cfg.SkipNamespaces, w.ref.Namespace)
	})
}

// managedBy returns the NodePool whose node a pod is bound to, "" when it is unbound or its
// node is not one Nodewright manages.
func (v *view) managedBy(p *corev1.Pod) string {
	if n := v.nodes[p.Spec.NodeName]; n != nil {
		return n.Labels[apisv1.LabelNodePool]
	}
	return ""
}

func poolRef(p *apisv1.NodePool) Ref { return Ref{Kind: apisv1.KindNodePool, Name: p.Name} }

func podRef(p *corev1.Pod) Ref { return Ref{Kind: "Pod", Namespace: p.Namespace, Name: p.Name} }
