package tests

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodewright/nodewright/schedulerengine/disruption"
	"github.com/nodewright/nodewright/starter"
	"github.com/nodewright/nodewright/workflows"
)

// starter why answers for a launched node (its claim: pool, pods, price), for a pod that no
// instance type can hold (the engine's reason, naming the pool), for a bound pod (its node and
// claim) and, once the node is consolidated, for the node gone (the disruption's source and
// reason, and the controller's decision).
func TestWhyAnswersForPodsAndNodesLaunchedAndConsolidated(t *testing.T) {
	e := startEnv(t, poolYAML("why", "", "consolidationPolicy: WhenEmpty\nconsolidateAfter: 1s\nbudgets:\n  - nodes: \"100%\""))
	e.deploy("web", 1, "500m")
	var node string
	for n := range e.allBound(1) {
		node = n
	}
	web := e.pods()[0]
	webKey := e.ns + "/" + web.Name

	launched := whyNode(e, node)
	t.Logf("$ starter why %s\n%s", node, e.starter("why", node))
	if launched.Status != "Running" || launched.Launch.NodePool != e.pool || launched.Launch.Reason != "Provisioned" ||
		!slices.Contains(launched.Launch.Pods, webKey) || launched.Launch.PricePerHour <= 0 || len(launched.Launch.InstanceTypes) == 0 {
		t.Errorf("why %s: %s, launch %+v; want Running, provisioned in pool %s for %s with allowed types and a price", node, launched.Status, launched.Launch, e.pool, webKey)
	}
	if launched.State.PricePerHour <= 0 || !slices.Contains(launched.Launch.InstanceTypes, launched.State.InstanceType) || launched.State.Disruption != nil {
		t.Errorf("why %s: state %+v; want a priced instance of an allowed type, no disruption", node, launched.State)
	}

	bound := whyPod(e, web.Name)
	if bound.Status != starter.PodBound || bound.Node != node || bound.Claim != launched.Launch.Claim || bound.NodePool != e.pool {
		t.Errorf("why pod %s: %+v; want bound to %s, claim %s of pool %s", webKey, bound, node, launched.Launch.Claim, e.pool)
	}

	e.deploy("huge", 1, "1000")
	var huge string
	e.eventually("the huge pod exists", 30*time.Second, func() (bool, string) {
		for _, p := range e.pods() {
			if strings.HasPrefix(p.Name, "huge-") {
				huge = p.Name
			}
		}
		return huge != "", "no huge pod yet"
	})
	want := fmt.Sprintf("no instance type in NodePool %q has cpu >= 1000", e.pool)
	e.eventually("why says why the huge pod is pending", time.Minute, func() (bool, string) {
		pending := whyPod(e, huge)
		return pending.Status == starter.PodPending && strings.Contains(pending.Reason, want) && pending.Source != "",
			fmt.Sprintf("%+v", pending)
	})
	t.Logf("$ starter why pod/%s/%s\n%s", e.ns, huge, e.starter("why", "pod/"+e.ns+"/"+huge, "--kubeconfig", lab.Kube.AdminKubeconfig))
	t.Logf("$ starter why pod/%s/%s\n%s", e.ns, web.Name, e.starter("why", "pod/"+e.ns+"/"+web.Name, "--kubeconfig", lab.Kube.AdminKubeconfig))
	e.scale("huge", 0)

	e.scale("web", 0)
	e.eventually("the empty node is consolidated", 2*time.Minute, func() (bool, string) {
		st := e.nodeState(launched.Launch.Claim)
		return st.Phase == workflows.PhaseTerminated, fmt.Sprintf("%s, disruption %+v", st.Phase, st.Disruption)
	})
	var gone starter.NodeWhy
	e.eventually("its workflow completes", 30*time.Second, func() (bool, string) {
		gone = whyNode(e, node)
		return gone.Status == "Completed", gone.Status
	})
	t.Logf("$ starter why %s\n%s", node, e.starter("why", node))
	d := gone.State.Disruption
	if d == nil || d.Source != workflows.SourceDisruption || d.Reason != disruption.ReasonEmpty || d.DecisionID == "" {
		t.Fatalf("why %s once consolidated: disruption %+v; want source %s, reason %s, a decision", node, d, workflows.SourceDisruption, disruption.ReasonEmpty)
	}
	if gone.Decision == nil || gone.Decision.ID != d.DecisionID || gone.Decision.Reason != disruption.ReasonEmpty || !slices.Contains(gone.Decision.Nodes, node) {
		t.Errorf("why %s: decision %+v; want the controller's record of %s naming the node", node, gone.Decision, d.DecisionID)
	}
}

// whyNode runs starter why NODE -o json.
func whyNode(e *env, node string) starter.NodeWhy {
	e.t.Helper()
	var why starter.NodeWhy
	if err := json.Unmarshal([]byte(e.starter("why", node, "-o", "json")), &why); err != nil {
		e.t.Fatalf("decode why %s: %v", node, err)
	}
	return why
}

// whyPod runs starter why pod/NAMESPACE/NAME -o json for a pod of the test's namespace.
func whyPod(e *env, name string) starter.PodWhy {
	e.t.Helper()
	var why starter.PodWhy
	out := e.starter("why", "pod/"+e.ns+"/"+name, "--kubeconfig", lab.Kube.AdminKubeconfig, "-o", "json")
	if err := json.Unmarshal([]byte(out), &why); err != nil {
		e.t.Fatalf("decode why pod %s: %v", name, err)
	}
	return why
}
