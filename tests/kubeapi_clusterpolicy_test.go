package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/apis/v1alpha1"
	"github.com/nodewright/nodewright/lab/kube"
)

// cappedPoolYAML is a pool of m5.large on-demand only, $0.096 an hour in the lab's us-east-1,
// so that what a node costs is known.
const cappedPoolYAML = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: capped
spec:
  template:
    spec:
      requirements:
        - key: node.kubernetes.io/instance-type
          operator: In
          values: ["m5.large"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["on-demand"]
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: capped
  disruption:
    consolidateAfter: Never
`

// The default ClusterPolicy's maxHourlyCost, applied with kubectl, caps the cluster while it
// exists: of two pods needing an m5.large each, one gets a node and the other waits with the
// limit as its reason; once the policy is deleted the worker's flags (none here) apply again
// and the second pod gets its node.
func TestClusterPolicyCapsHourlyCostUntilDeleted(t *testing.T) {
	waitForNoManagedNodes(t)
	e := startAPIEnv(t, cappedPoolYAML+nodeClassYAML("capped"))
	applyManifest(t, `apiVersion: nodewright.io/v1alpha1
kind: ClusterPolicy
metadata:
  name: default
spec:
  maxHourlyCost: "0.15"
`)
	t.Cleanup(func() { deleteClusterPolicy(t, v1alpha1.DefaultName) })
	e.eventually("the ClusterPolicy is Ready", 30*time.Second, func() (bool, string) {
		status, why := clusterPolicyReady(t, v1alpha1.DefaultName)
		return status == "True", status + " " + why
	})

	e.deploy("capped", 2, "1500m") // 1.5 cpu: one pod per m5.large
	e.boundPods("capped", 1)
	const reason = "cluster hourly cost would be $0.19, limit $0.15"
	e.eventually("the second pod's FailedScheduling event names the cost limit", time.Minute, func() (bool, string) {
		evs := e.events("FailedScheduling")
		for _, ev := range evs {
			if ev.Regarding.Kind == "Pod" && ev.Regarding.Namespace == e.ns && strings.Contains(ev.Note, reason) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("events: %v", notes(evs))
	})
	if n := len(e.nodes()); n != 1 {
		t.Fatalf("%d nodes under a cap of one node's price, want 1", n)
	}

	deleteClusterPolicy(t, v1alpha1.DefaultName)
	e.boundPods("capped", 2)
	if n := len(e.nodes()); n != 2 {
		t.Errorf("%d nodes once the policy is gone, want 2", n)
	}
}

// The API server refuses a maxHourlyCost that is not a plain decimal, and a limit the
// ClusterPolicy does not know.
func TestClusterPolicyBadValuesAreRefused(t *testing.T) {
	for _, spec := range []string{`maxHourlyCost: "$40"`, `maxHourlyCost: "1e3"`, `limits: {gpu: "8"}`, `limits: {cpu: "-1"}`, `limits: {nodes: -3}`} {
		manifest := "apiVersion: nodewright.io/v1alpha1\nkind: ClusterPolicy\nmetadata:\n  name: refused\nspec:\n  " + spec + "\n"
		if _, err := kube.Apply(context.Background(), lab.Kube.Admin, []byte(manifest)); err == nil {
			deleteClusterPolicy(t, "refused")
			t.Errorf("spec %s was accepted", spec)
		} else if !strings.Contains(err.Error(), "spec.") {
			t.Errorf("spec %s refused with %v, want the field named", spec, err)
		}
	}
}

func clusterPolicyReady(t *testing.T, name string) (status, message string) {
	t.Helper()
	u, err := dynamicClient(t).Resource(v1alpha1.ClusterPolicyResource).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return "", err.Error()
	}
	var p v1alpha1.ClusterPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
		t.Fatal(err)
	}
	return condition(p.Status.Conditions, v1alpha1.ConditionReady)
}

// deleteClusterPolicy deletes the policy, if it is there: the lab is shared with other tests.
func deleteClusterPolicy(t *testing.T, name string) {
	t.Helper()
	err := dynamicClient(t).Resource(v1alpha1.ClusterPolicyResource).Delete(context.Background(), name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete ClusterPolicy %s: %v", name, err)
	}
}

// waitForNoManagedNodes waits until earlier tests' nodes are gone: cluster-wide limits charge
// the nodes of every NodePool.
func waitForNoManagedNodes(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		list, err := lab.Kube.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: v1.LabelNodePool})
		if err == nil && len(list.Items) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes of earlier tests are still there: %d, %v", len(list.Items), err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
