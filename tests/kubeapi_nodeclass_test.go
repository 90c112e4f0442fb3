package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
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
