package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/nodewright/nodewright/activities"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// An EC2NodeClass whose subnet selector matches nothing in the lab's VPC is not Ready and
// says why, and its pool launches nothing; once the class selects the lab's subnets, its
// status lists them and the pending pod gets a node, with no restart.
func TestEC2NodeClassSelectorsGateItsPools(t *testing.T) {
	const name = "netsel"
	good := "subnetSelectorTerms: [{tags: {karpenter.sh/discovery: lab}}]"
	manifest := poolYAML(name, "", "consolidateAfter: Never")
	if !strings.Contains(manifest, good) {
		t.Fatalf("the harness's class no longer selects subnets by %q", good)
	}
	e := startAPIEnv(t, strings.Replace(manifest, good, "subnetSelectorTerms: [{tags: {karpenter.sh/discovery: elsewhere}}]", 1), poolMayWait)

	e.eventually("the class says no subnet matches", time.Minute, func() (bool, string) {
		st := nodeClass(e, name).Status
		subnets, reason := condition(st.Conditions, awsv1.ConditionSubnetsReady)
		ready, _ := condition(st.Conditions, awsv1.ConditionReady)
		return subnets == "False" && reason == "SubnetsNotFound" && ready == "False", fmt.Sprintf("SubnetsReady %s (%s), Ready %s", subnets, reason, ready)
	})
	e.eventually("the pool waits for its class", time.Minute, func() (bool, string) {
		s, reason := condition(e.nodePool(name).Status.Conditions, v1.ConditionNodeClassReady)
		return s == "False" && reason == "NodeClassNotReady", "NodeClassReady " + s + " " + reason
	})
	e.deploy("web", 1, "500m")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if n := len(e.nodeClaims()); n != 0 {
			t.Fatalf("%d NodeClaims launched from a class that is not ready", n)
		}
	}

	e.eventually("the pod to be told which class holds its pool back", time.Minute, func() (bool, string) {
		got := notes(e.events("FailedScheduling"))
		for _, note := range got {
			if strings.Contains(note, "Pod/") && strings.Contains(note, "EC2NodeClass "+name+" is not ready") && strings.Contains(note, "SubnetsReady=False") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("FailedScheduling events: %q", got)
	})

	applyManifest(t, nodeClassYAML(name))
	e.allBound(1)
	st := nodeClass(e, name).Status
	var zones []string
	for _, s := range st.Subnets {
		zones = append(zones, s.Zone)
	}
	if !slices.Equal(zones, []string{"us-east-1a", "us-east-1b", "us-east-1c"}) || len(st.SecurityGroups) != 1 {
		t.Errorf("class status subnets %+v, security groups %+v; want the lab's three subnets and its group", st.Subnets, st.SecurityGroups)
	}
	for _, s := range st.Subnets {
		if subnet, _ := lab.EC2.Subnet(s.ID); subnet.Tags[ec2sim.DiscoveryTag] != "lab" {
			t.Errorf("status names subnet %s, which the lab does not have tagged for discovery", s.ID)
		}
	}
}

func nodeClass(e *env, name string) awsv1.EC2NodeClass {
	e.t.Helper()
	u, err := dynamicClient(e.t).Resource(awsv1.EC2NodeClassResource).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("get ec2nodeclass %s: %v", name, err)
	}
	var c awsv1.EC2NodeClass
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// The Done-when: with maxPods 110 on the class, the node the planner launches
// registers the allocatable the engine planned for its type (catalog.NodeResources under the
// class), and takes more pods than its ENIs alone would give.
func TestNodesRegisterTheAllocatablePlannedForTheirClass(t *testing.T) {
	const name = "maxpods"
	// poolYAML ends with its class's spec, which the kubelet settings join.
	e := startAPIEnv(t, poolYAML(name, "", "consolidateAfter: Never")+"  kubelet: {maxPods: 110}\n")
	e.deploy("tiny", 100, "5m", func(p *corev1.PodTemplateSpec) {
		p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("5Mi")
	})
	e.allBound(100)
	perNode := map[string]int{}
	for _, p := range e.pods() {
		perNode[p.Spec.NodeName]++
	}
	beyondENIs := false
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	class := nodeClass(e, name)
	for _, n := range e.nodes() {
		typ := n.Labels[v1.LabelInstanceType]
		it, ok := catalog.Index(types)[typ]
		if !ok {
			t.Fatalf("node %s is of type %q, which the catalog does not have", n.Name, typ)
		}
		_, planned, err := catalog.NodeResources(it, activities.KubeletSettingsOf(&class))
		if err != nil {
			t.Fatalf("planned allocatable of %s: %v", typ, err)
		}
		if !equality.Semantic.DeepEqual(n.Status.Allocatable, planned) {
			t.Errorf("node %s (%s) registered allocatable %v, the engine planned %v", n.Name, typ, n.Status.Allocatable, planned)
		}
		if pods := n.Status.Allocatable[corev1.ResourcePods]; pods.Value() != 110 {
			t.Errorf("node %s allocates %s pods, want the class's maxPods 110", n.Name, pods.String())
		}
		// Planned from the catalog's ENI-limited pods, no node would hold more than those.
		beyondENIs = beyondENIs || int64(perNode[n.Name]) > catalog.ENILimitedPods(it)
	}
	if !beyondENIs {
		t.Errorf("pods per node %v: none holds more than its type's ENIs give; the plan did not count on maxPods 110", perNode)
	}
}
