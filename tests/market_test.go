package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/worker"
	"github.com/nodewright/nodewright/workflows"
)

// typesPoolYAML is a NodePool that launches only the given types, of one capacity type,
// with the lab's EC2NodeClass.
func typesPoolYAML(name, capacityType string, types ...string) string {
	return fmt.Sprintf(`apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: %s
spec:
  template:
    spec:
      requirements:
        - key: node.kubernetes.io/instance-type
          operator: In
          values: ["%s"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["%s"]
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: %[1]s
  disruption:
    consolidateAfter: Never
%[4]s`, name, strings.Join(types, `", "`), capacityType, nodeClassYAML(name))
}

// restrictOffering offers the type only in the zones for the test, then everywhere again.
func restrictOffering(t *testing.T, instanceType string, zones ...string) {
	t.Helper()
	if err := lab.Market.Restrict(instanceType, zones...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Market.Restrict(instanceType, lab.Zones...); err != nil {
			t.Errorf("offer %s everywhere again: %v", instanceType, err)
		}
	})
}

func inZone(zone string) func(*corev1.PodTemplateSpec) {
	return func(p *corev1.PodTemplateSpec) { p.Spec.NodeSelector[corev1.LabelTopologyZone] = zone }
}

// nodeOf is the Node the deployment's one pod runs on.
func (e *env) nodeOf(app string) corev1.Node {
	e.t.Helper()
	for _, p := range e.pods() {
		if p.Labels["app"] != app || p.Spec.NodeName == "" {
			continue
		}
		for _, n := range e.nodes() {
			if n.Name == p.Spec.NodeName {
				return n
			}
		}
	}
	e.t.Fatalf("no node runs %s", app)
	return corev1.Node{}
}

// listsPrice waits until `starter nodes` lists the claim's node at the price, which it reads
// from the node workflow's memo.
func (e *env) listsPrice(claim string, want float64) {
	e.t.Helper()
	id := workflows.NodeWorkflowID(claim)
	e.eventually(fmt.Sprintf("starter nodes to list %s at %v/h", id, want), 30*time.Second, func() (bool, string) {
		rows, err := e.op.Nodes(e.ctx, false)
		if err != nil {
			return false, err.Error()
		}
		for _, r := range rows {
			if r.WorkflowID == id {
				return r.PricePerHour == want, fmt.Sprintf("listed at %v/h", r.PricePerHour)
			}
		}
		return false, "not listed"
	})
}

// c5.large is the cheapest of the two types on demand; us-east-1b alone offers it here.
func TestATypeOfferedInOneZoneLaunchesOnlyThere(t *testing.T) {
	restrictOffering(t, "c5.large", "us-east-1b")
	e := startAPIEnv(t, typesPoolYAML("one-zone", v1.CapacityTypeOnDemand, "c5.large", "m5.large"))
	// One after the other: the kube-scheduler may bind a pod to another's new node.
	e.deploy("anywhere", 1, "1")
	e.allBound(1)
	e.deploy("in-a", 1, "1", inZone("us-east-1a"))
	e.allBound(2)
	for app, want := range map[string][2]string{"anywhere": {"c5.large", "us-east-1b"}, "in-a": {"m5.large", "us-east-1a"}} {
		n := e.nodeOf(app)
		if got := [2]string{n.Labels[v1.LabelInstanceType], n.Labels[v1.LabelZone]}; got != want {
			t.Errorf("%s runs on a %s in %s, want %s in %s", app, got[0], got[1], want[0], want[1])
		}
	}
	// The plan knew it too: the claim for us-east-1a was priced as the m5.large it got.
	if st := e.nodeState(e.nodeOf("in-a").Labels[v1.LabelNodeClaim]); st.PricePerHour != 0.096 {
		t.Errorf("the claim for us-east-1a was planned at %v, want m5.large's 0.096", st.PricePerHour)
	}
	for _, inst := range lab.EC2.Instances() {
		if inst.Type == "c5.large" && inst.Zone != "us-east-1b" {
			t.Errorf("instance %s is a c5.large in %s, which does not offer it", inst.ID, inst.Zone)
		}
	}
}

func TestWithPricingUnreachableNodesLaunchOnTheEmbeddedPrices(t *testing.T) {
	lab.Pricing.SetReachable(false)
	t.Cleanup(func() { lab.Pricing.SetReachable(true) })
	e := startAPIEnv(t, typesPoolYAML("no-pricing", v1.CapacityTypeOnDemand, "m5.large"), withMetricsAddr(t))
	e.deploy("web", 1, "1")
	e.allBound(1)
	claim := e.nodeOf("web").Labels[v1.LabelNodeClaim]
	if st := e.nodeState(claim); st.PricePerHour != 0.096 {
		t.Errorf("planned price %v, want the embedded us-east-1 price of m5.large, 0.096", st.PricePerHour)
	}
	m := e.scrapeUntil("the fallback metric", func(m scrape) string {
		if s := m.find("nodewright_market_fallback", "source", "on_demand"); len(s) != 1 || s[0].value != 1 {
			return "nodewright_market_fallback{source=on_demand} 1"
		}
		return ""
	})
	if s := m.find("nodewright_market_fallback", "source", "spot"); len(s) != 1 || s[0].value != 0 {
		t.Errorf("spot fallback series %+v, want 0: EC2 answers", s)
	}
	var prov workflows.ProvisionerState
	v, err := e.op.Client.QueryWorkflow(e.ctx, workflows.ProvisionerID, "", workflows.QueryState)
	if err != nil || v.Get(&prov) != nil {
		t.Fatalf("query provisioner: %v", err)
	}
	if prov.LastPlan == nil || prov.LastPlan.Market == nil || !prov.LastPlan.Market.OnDemand.Fallback() || prov.LastPlan.Market.OnDemand.Reason == "" {
		t.Errorf("last plan %+v, want its on-demand prices from the fallback with the reason", prov.LastPlan)
	}
	log, err := os.ReadFile(filepath.Join(lab.Dir, e.pool+"-worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "using the embedded figures"); n != 1 || !strings.Contains(string(log), "on-demand prices") {
		t.Errorf("the worker log says %d times that it uses the embedded figures, want once for on-demand prices", n)
	}
}

func TestASpotPriceChangeReachesTheNextPlan(t *testing.T) {
	const refresh = 10 * time.Second
	price := func(typ string, p float64) {
		t.Helper()
		for _, z := range lab.Zones {
			if err := lab.Market.SetSpotPrice(typ, z, p, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	price("c5.large", 0.011)
	price("m5.large", 0.022)
	e := startAPIEnv(t, typesPoolYAML("spot-moves", v1.CapacityTypeSpot, "c5.large", "m5.large"),
		func(e *env) { e.configure = func(c *worker.Config) { c.SpotPriceRefresh = refresh } })
	e.deploy("first", 1, "1")
	e.allBound(1)
	firstClaim := e.nodeOf("first").Labels[v1.LabelNodeClaim]
	first := e.nodeState(firstClaim)
	if first.PricePerHour != 0.011 {
		t.Fatalf("first node costs %v, want c5.large's spot 0.011", first.PricePerHour)
	}
	e.listsPrice(firstClaim, 0.011)
	price("c5.large", 0.033)
	changed := time.Now()
	time.Sleep(refresh + 2*time.Second) // one refresh period and a little
	e.deploy("second", 1, "1")
	e.allBound(2)
	second := e.nodeState(e.nodeOf("second").Labels[v1.LabelNodeClaim])
	if second.PricePerHour != 0.022 {
		t.Errorf("plan %s after the change priced %v, want m5.large's 0.022 now that c5.large costs 0.033", time.Since(changed).Round(time.Second), second.PricePerHour)
	}
	if n := e.nodeOf("second"); n.Labels[v1.LabelInstanceType] != "m5.large" {
		t.Errorf("second node is a %s, want m5.large", n.Labels[v1.LabelInstanceType])
	}
}
