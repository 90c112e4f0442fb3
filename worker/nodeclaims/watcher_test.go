package nodeclaims

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/nodewright/nodewright/activities"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// fakeInstances is EC2 as the watcher sees it: instances by id, with the workflow that
// launched each for this cluster.
type fakeInstances struct {
	owner      map[string]string
	terminated []string
}

func (f *fakeInstances) WorkflowOf(_ context.Context, id string) (activities.InstanceOwner, error) {
	owner, found := f.owner[id]
	if !found {
		return activities.InstanceOwner{}, nil
	}
	state := "running"
	if slices.Contains(f.terminated, id) {
		state = "shutting-down"
	}
	return activities.InstanceOwner{Found: true, WorkflowID: owner, State: state}, nil
}

func (f *fakeInstances) Terminate(_ context.Context, id string) error {
	f.terminated = append(f.terminated, id)
	return nil
}

func deletingClaim(name, group, instance string, managed bool) *unstructured.Unstructured {
	labels := map[string]any{v1.LabelNodePool: "p"}
	if managed {
		labels[activities.LabelManaged] = "true"
	}
	now := metav1.NewTime(time.Now()).UTC().Format(time.RFC3339)
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "karpenter.sh/v1", "kind": "NodeClaim",
		"metadata": map[string]any{"name": name, "labels": labels, "finalizers": []any{activities.FinalizerTermination}, "deletionTimestamp": now},
		"spec":     map[string]any{"nodeClassRef": map[string]any{"group": group, "kind": "EC2NodeClass", "name": "default"}},
		"status":   map[string]any{"providerID": "aws:///us-east-1a/" + instance},
	}}
}

// With no workflow left, the watcher terminates an instance and releases its NodeClaim only
// when EC2 says the claim's workflow launched that instance; a label is not proof enough.
func TestOrphansAreReleasedOnlyWhenEC2SaysTheyAreOurs(t *testing.T) {
	tests := []struct {
		name           string
		claim          *unstructured.Unstructured
		owner          map[string]string
		wantTerminated []string
		wantReleased   bool
	}{
		{name: "ours: terminated, then released", claim: deletingClaim("p-aaaaa", "karpenter.k8s.aws", "i-1", true),
			owner: map[string]string{"i-1": "node/p-aaaaa"}, wantTerminated: []string{"i-1"}, wantReleased: true},
		{name: "an instance EC2 no longer knows: released", claim: deletingClaim("p-bbbbb", "karpenter.k8s.aws", "i-2", true),
			owner: map[string]string{}, wantReleased: true},
		{name: "labelled, but the instance is another workflow's: left alone", claim: deletingClaim("p-ccccc", "karpenter.k8s.aws", "i-3", true),
			owner: map[string]string{"i-3": "node/p-other"}},
		{name: "labelled, but the instance is not Nodewright's in this cluster: left alone", claim: deletingClaim("p-ddddd", "karpenter.k8s.aws", "i-4", true),
			owner: map[string]string{"i-4": ""}},
		{name: "a Karpenter's NodeClaim someone labelled, beside Karpenter: left alone", claim: deletingClaim("p-eeeee", "karpenter.k8s.aws", "i-5", true),
			owner: map[string]string{"i-5": "node/p-eeeee"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			group := "karpenter.k8s.aws"
			if tt.claim.GetName() == "p-eeeee" {
				group = "nodewright.io"
			}
			dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
				map[schema.GroupVersionResource]string{v1.NodeClaimResource: "NodeClaimList"}, tt.claim.DeepCopy())
			ec2 := &fakeInstances{owner: tt.owner}
			w := New(dyn, fake.NewClientset(), nil, ec2, group, slog.New(slog.DiscardHandler))
			if err := w.releaseOrphans(context.Background(), tt.claim.GetName(), []metav1.Object{tt.claim}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ec2.terminated, tt.wantTerminated) {
				t.Errorf("terminated %v, want %v", ec2.terminated, tt.wantTerminated)
			}
			got, err := dyn.Resource(v1.NodeClaimResource).Get(context.Background(), tt.claim.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if released := len(got.GetFinalizers()) == 0; released != tt.wantReleased {
				t.Errorf("finalizer released %v, want %v", released, tt.wantReleased)
			}
		})
	}
}

func TestInstanceOfReadsProviderIDs(t *testing.T) {
	node := &corev1.Node{Spec: corev1.NodeSpec{ProviderID: "aws:///us-east-1a/i-0abc"}}
	if got := instanceOf(node); got != "i-0abc" {
		t.Errorf("node: %q", got)
	}
	if got := instanceOf(&corev1.Node{Spec: corev1.NodeSpec{ProviderID: "gce://p/z/n"}}); got != "" {
		t.Errorf("a provider id of another cloud gave %q", got)
	}
	if got := instanceOf(deletingClaim("c", "g", "i-9", true)); got != "i-9" {
		t.Errorf("claim: %q", got)
	}
}
