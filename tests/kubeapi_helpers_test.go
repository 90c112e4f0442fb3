package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/kube"
)

// applyManifest applies a manifest as `kubectl apply` would, as the lab's admin. A
// conversion webhook the API server cannot reach yet (its configuration is seconds old) is
// tried again, as a person would.
func applyManifest(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		objs, err := kube.Apply(context.Background(), lab.Kube.Admin, []byte(manifest))
		if err == nil {
			return objs
		}
		if !strings.Contains(err.Error(), "conversion webhook") || time.Now().After(deadline) {
			t.Fatalf("kubectl apply: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startDeletingManifest deletes the manifest's NodePools and EC2NodeClasses and returns, for
// each, a check that it is gone.
func startDeletingManifest(ctx context.Context, t *testing.T, manifest string) (gone []func() error) {
	t.Helper()
	dyn := dynamicClient(t)
	for _, doc := range strings.Split(manifest, "\n---\n") {
		kind, name := kindAndName(doc)
		gvr := v1.NodePoolResource
		switch kind {
		case v1.KindNodePool:
		case awsv1.KindEC2NodeClass:
			gvr = awsv1.EC2NodeClassResource
		default:
			continue
		}
		if err := dyn.Resource(gvr).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s %s: %v", kind, name, err)
		}
		gone = append(gone, func() error {
			_, err := dyn.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				return fmt.Errorf("%s %s is still there", kind, name)
			}
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		})
	}
	return gone
}

// deleteManifest deletes the manifest's NodePools and EC2NodeClasses and waits until they are
// gone. Call it while the test's worker still runs to lift their finalizers: a class left
// terminating would outlive the test, and a later apply of the same name would trip on it.
func deleteManifest(t *testing.T, manifest string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, gone := range startDeletingManifest(ctx, t, manifest) {
		var err error
		for err = gone(); err != nil && ctx.Err() == nil; err = gone() {
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("delete manifest: %v", err)
		}
	}
}

// kindAndName reads a document's kind and metadata.name without decoding the rest.
func kindAndName(doc string) (kind, name string) {
	inMeta := false
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(line, "kind: "):
			kind = strings.TrimSpace(strings.TrimPrefix(line, "kind: "))
		case strings.HasPrefix(line, "metadata:"):
			inMeta = true
		case inMeta && strings.HasPrefix(line, "  name: "):
			name = strings.TrimSpace(strings.TrimPrefix(line, "  name: "))
			inMeta = false
		}
	}
	return kind, name
}

func dynamicClient(t *testing.T) dynamic.Interface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(lab.Kube.Admin)
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

// nodeClaims lists the NodeClaims of the test's pool.
func (e *env) nodeClaims() []v1.NodeClaim {
	e.t.Helper()
	list, err := dynamicClient(e.t).Resource(v1.NodeClaimResource).List(e.ctx, metav1.ListOptions{LabelSelector: v1.LabelNodePool + "=" + e.pool})
	if err != nil {
		e.t.Fatalf("list nodeclaims: %v", err)
	}
	out := make([]v1.NodeClaim, 0, len(list.Items))
	for _, u := range list.Items {
		var c v1.NodeClaim
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &c); err != nil {
			e.t.Fatalf("decode nodeclaim %s: %v", u.GetName(), err)
		}
		out = append(out, c)
	}
	return out
}

// nodePool reads a NodePool as the API stores it.
func (e *env) nodePool(name string) v1.NodePool {
	e.t.Helper()
	u, err := dynamicClient(e.t).Resource(v1.NodePoolResource).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("get nodepool %s: %v", name, err)
	}
	var p v1.NodePool
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// condition returns a condition's status and reason, "" when it is not set.
func condition(conds []metav1.Condition, typ string) (string, string) {
	for _, c := range conds {
		if c.Type == typ {
			return string(c.Status), c.Reason
		}
	}
	return "", ""
}
