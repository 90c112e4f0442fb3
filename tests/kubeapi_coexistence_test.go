package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/nodewright/nodewright/activities"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Beside a Karpenter, a worker started with --nodeclass-group nodewright.io serves only the
// NodePools naming that group (Karpenter acts only on those naming a group it serves,
// karpenter.k8s.aws), writes its NodeClaims with that group, and never touches a Karpenter's
// pools, NodeClaims or Nodes, not even their status or finalizers.
// conversionConfigs is the spec.conversion of the two CRDs serving v1beta1, as JSON.
func conversionConfigs(t *testing.T) string {
	t.Helper()
	crds := dynamicClient(t).Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	var out []any
	for _, name := range []string{"nodepools.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"} {
		crd, err := crds.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		conv, _, _ := unstructured.NestedFieldCopy(crd.Object, "spec", "conversion")
		out = append(out, conv)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBesideKarpenterEachKeepsItsOwn(t *testing.T) {
	ours := strings.Replace(poolYAML("ours", "", "consolidateAfter: Never"), "group: karpenter.k8s.aws", "group: nodewright.io", 1)
	theirs := strings.SplitN(poolYAML("karpenters", "", "consolidateAfter: Never"), "\n---\n", 2)[0]
	crdsBefore := conversionConfigs(t)
	e := startAPIEnv(t, ours+"---\n"+theirs+"\n", func(e *env) { e.nodeClassGroup = awsv1.NodewrightGroup })
	// The CRDs are Karpenter's: the worker leaves their conversion webhook alone.
	if after := conversionConfigs(t); after != crdsBefore {
		t.Errorf("the worker beside Karpenter changed the CRDs' conversion:\nbefore %s\nafter  %s", crdsBefore, after)
	}

	e.deploy("web", 1, "500m")
	e.allBound(1)
	for _, c := range e.nodeClaims() {
		if c.Spec.NodeClassRef.Group != awsv1.NodewrightGroup || c.Labels[activities.LabelManaged] != "true" {
			t.Errorf("NodeClaim %s names group %s (managed %q), want %s so that Karpenter leaves it", c.Name, c.Spec.NodeClassRef.Group, c.Labels[activities.LabelManaged], awsv1.NodewrightGroup)
		}
	}

	// Karpenter's pool: no status from us, and its pods get no node from us.
	their := &env{t: t, ctx: e.ctx, pool: "karpenters", ns: e.ns, op: e.op}
	their.deploy("theirs", 1, "500m")
	time.Sleep(5 * time.Second)
	if p := e.nodePool("karpenters"); len(p.Status.Conditions) != 0 || p.Status.Nodes != nil {
		t.Errorf("Karpenter's NodePool got a status from Nodewright: %+v", p.Status)
	}
	if n := len(their.nodeClaims()); n != 0 {
		t.Errorf("Nodewright made %d NodeClaims for Karpenter's pool", n)
	}

	// A Karpenter's NodeClaim and Node, deleted: their finalizers stay for Karpenter.
	ctx := e.ctx
	claim := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "karpenter.sh/v1", "kind": "NodeClaim",
		"metadata": map[string]any{"name": "karpenters-abcde", "labels": map[string]any{v1.LabelNodePool: "karpenters"},
			"finalizers": []any{activities.FinalizerTermination}},
		"spec": map[string]any{"nodeClassRef": map[string]any{"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "karpenters"},
			"requirements": []any{}},
	}}
	dyn := dynamicClient(t).Resource(v1.NodeClaimResource)
	if _, err := dyn.Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "karpenters-node", Labels: map[string]string{v1.LabelNodePool: "karpenters", v1.LabelNodeClaim: "karpenters-abcde"},
		Finalizers: []string{activities.FinalizerTermination}}, Spec: corev1.NodeSpec{ProviderID: "aws:///us-east-1a/i-0karpenter"}}
	if _, err := lab.Kube.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { releaseForeign(t, "karpenters-abcde", "karpenters-node") })
	if err := dyn.Delete(ctx, "karpenters-abcde", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := lab.Kube.Client.CoreV1().Nodes().Delete(ctx, "karpenters-node", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if got, err := dyn.Get(ctx, "karpenters-abcde", metav1.GetOptions{}); err != nil || len(got.GetFinalizers()) != 1 {
		t.Errorf("Karpenter's deleted NodeClaim: %v, finalizers %v; want it held for Karpenter", err, finalizersOf(got))
	}
	if got, err := lab.Kube.Client.CoreV1().Nodes().Get(ctx, "karpenters-node", metav1.GetOptions{}); err != nil || len(got.Finalizers) != 1 {
		t.Errorf("Karpenter's deleted Node: %v; want it held for Karpenter", err)
	}
}

func finalizersOf(u *unstructured.Unstructured) []string {
	if u == nil {
		return nil
	}
	return u.GetFinalizers()
}

// releaseForeign lets the stand-in Karpenter objects go, as Karpenter would.
func releaseForeign(t *testing.T, claim, node string) {
	ctx := context.Background()
	dyn := dynamicClient(t).Resource(v1.NodeClaimResource)
	if u, err := dyn.Get(ctx, claim, metav1.GetOptions{}); err == nil {
		u.SetFinalizers(nil)
		if _, err := dyn.Update(ctx, u, metav1.UpdateOptions{}); err != nil {
			t.Errorf("release %s: %v", claim, err)
		}
	}
	if n, err := lab.Kube.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err == nil {
		n.Finalizers = nil
		if _, err := lab.Kube.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Errorf("release %s: %v", node, fmt.Errorf("%w", err))
		}
	}
}
