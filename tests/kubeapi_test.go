package tests

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// A NodePool applied with kubectl, with no --nodepools file, provisions for pending pods, and
// every node shows as a Ready NodeClaim owned by its pool.
func TestNodePoolAppliedWithKubectlProvisions(t *testing.T) {
	e := startAPIEnv(t, poolYAML("applied", "", "consolidateAfter: Never"))
	e.deploy("web", 3, "500m")
	used := e.allBound(3)

	e.eventually("every node shows as a Ready NodeClaim", time.Minute, func() (bool, string) {
		claims := e.nodeClaims()
		ready := 0
		for _, c := range claims {
			if s, _ := condition(c.Status.Conditions, v1.ConditionReady); s == string(metav1.ConditionTrue) && used[c.Status.NodeName] {
				ready++
			}
		}
		return ready == len(used) && len(claims) == len(used), fmt.Sprintf("%d of %d NodeClaims Ready for %d nodes", ready, len(claims), len(used))
	})
	for _, c := range e.nodeClaims() {
		for _, typ := range []string{v1.ConditionLaunched, v1.ConditionRegistered, v1.ConditionInitialized} {
			if s, _ := condition(c.Status.Conditions, typ); s != "True" {
				t.Errorf("NodeClaim %s %s = %q, want True", c.Name, typ, s)
			}
		}
		if len(c.OwnerReferences) != 1 || c.OwnerReferences[0].Kind != v1.KindNodePool || c.OwnerReferences[0].Name != e.pool {
			t.Errorf("NodeClaim %s owners %+v, want its NodePool", c.Name, c.OwnerReferences)
		}
		if c.Labels[v1.LabelInstanceType] == "" || c.Labels[v1.LabelZone] == "" || c.Status.ProviderID == "" || c.Status.Capacity.Cpu().IsZero() {
			t.Errorf("NodeClaim %s: labels %v providerID %q capacity %v", c.Name, c.Labels, c.Status.ProviderID, c.Status.Capacity)
		}
	}
	// The disruption controller's view: not drifted, and consolidatable once consolidateAfter
	// (Never here) would allow it, which it never does.
	e.eventually("the disruption controller marks each NodeClaim", time.Minute, func() (bool, string) {
		for _, c := range e.nodeClaims() {
			drifted, _ := condition(c.Status.Conditions, v1.ConditionDrifted)
			consolidatable, _ := condition(c.Status.Conditions, v1.ConditionConsolidatable)
			if drifted != "False" || consolidatable != "False" {
				return false, fmt.Sprintf("%s: Drifted %q Consolidatable %q", c.Name, drifted, consolidatable)
			}
		}
		return true, ""
	})
	// Those conditions were written from the worker's cache, whose NodeClaims carry no
	// requirements: a write to /status keeps the stored spec.
	for _, c := range e.nodeClaims() {
		if len(c.Spec.Requirements) == 0 {
			t.Errorf("NodeClaim %s lost its requirements to a status write from the cache", c.Name)
		}
	}
	e.eventually("the NodePool reports its nodes", time.Minute, func() (bool, string) {
		p := e.nodePool(e.pool)
		ready, _ := condition(p.Status.Conditions, v1.ConditionReady)
		return ready == "True" && p.Status.Nodes != nil && int(*p.Status.Nodes) == len(used), "status " + ready
	})
}
