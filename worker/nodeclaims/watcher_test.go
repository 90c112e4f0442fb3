package nodeclaims

import (
	"cmp"
	"context"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic/dynamicinformer"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"

	"github.com/nodewright/nodewright/activities"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/workflows"
)

// fakeInstances is EC2 as the watcher sees it: instances by id, with the workflow that
// launched each for this cluster ("" for someone else) and their state. A terminated
// instance shuts down until finish is called.
type fakeInstances struct {
	owner      map[string]string
	state      map[string]string
	terminated []string
}

func (f *fakeInstances) WorkflowOf(_ context.Context, id string) (activities.InstanceOwner, error) {
	owner, found := f.owner[id]
	if !found {
		return activities.InstanceOwner{ID: id}, nil
	}
	return activities.InstanceOwner{ID: id, Found: true, WorkflowID: owner, State: f.stateOf(id)}, nil
}

func (f *fakeInstances) LaunchedBy(_ context.Context, workflowID string) ([]activities.InstanceOwner, error) {
	var out []activities.InstanceOwner
	for _, id := range slices.Sorted(maps.Keys(f.owner)) {
		if f.owner[id] == workflowID && f.stateOf(id) != "terminated" {
			out = append(out, activities.InstanceOwner{ID: id, Found: true, WorkflowID: workflowID, State: f.stateOf(id)})
		}
	}
	return out, nil
}

func (f *fakeInstances) Terminate(_ context.Context, id string) error {
	f.terminated = append(f.terminated, id)
	f.state[id] = "shutting-down"
	return nil
}

func (f *fakeInstances) stateOf(id string) string {
	if s, ok := f.state[id]; ok {
		return s
	}
	return "running"
}

// finish ends the termination of every shutting-down instance.
func (f *fakeInstances) finish() {
	for id, s := range f.state {
		if s == "shutting-down" {
			f.state[id] = "terminated"
		}
	}
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

func deletingNode(name, claim, instance string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{activities.LabelManaged: "true", v1.LabelNodeClaim: claim},
			Finalizers: []string{activities.FinalizerTermination}, DeletionTimestamp: &metav1.Time{Time: time.Now()}},
		Spec: corev1.NodeSpec{ProviderID: "aws:///us-east-1a/" + instance},
	}
}

// watcherOn is a watcher for the node class group over fake clients holding the objects; its
// informers do not run, so the test fills their stores.
func watcherOn(t *testing.T, group string, tc client.Client, ec2 *fakeInstances, objects ...metav1.Object) (*Watcher, *dynamicfake.FakeDynamicClient, *fake.Clientset) {
	t.Helper()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{v1.NodeClaimResource: "NodeClaimList"})
	kube := fake.NewClientset()
	caches := Caches{Dynamic: dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0), Kube: informers.NewSharedInformerFactory(kube, 0)}
	w := New(dyn, kube, caches, tc, ec2, group, slog.New(slog.DiscardHandler))
	for _, o := range objects {
		var err error
		switch o := o.(type) {
		case *unstructured.Unstructured:
			_, err = dyn.Resource(v1.NodeClaimResource).Create(context.Background(), o.DeepCopy(), metav1.CreateOptions{})
			_ = w.claims.GetStore().Add(o)
		case *corev1.Node:
			_, err = kube.CoreV1().Nodes().Create(context.Background(), o.DeepCopy(), metav1.CreateOptions{})
			_ = w.nodes.GetStore().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return w, dyn, kube
}

// finalizersLeft reads the object back and says whether it still has the termination finalizer.
func finalizersLeft(t *testing.T, dyn *dynamicfake.FakeDynamicClient, kube *fake.Clientset, o metav1.Object) bool {
	t.Helper()
	var finalizers []string
	switch o.(type) {
	case *unstructured.Unstructured:
		got, err := dyn.Resource(v1.NodeClaimResource).Get(context.Background(), o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		finalizers = got.GetFinalizers()
	case *corev1.Node:
		got, err := kube.CoreV1().Nodes().Get(context.Background(), o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		finalizers = got.Finalizers
	}
	return slices.Contains(finalizers, activities.FinalizerTermination)
}

// With no workflow left, the watcher terminates an instance only when EC2 says the claim's
// workflow launched it (a label is not proof enough), and releases the object only once the
// instance has finished terminating.
func TestOrphansAreReleasedOnlyWhenEC2SaysTheyAreOursAndTheirInstanceIsGone(t *testing.T) {
	tests := []struct {
		name           string
		object         metav1.Object
		group          string
		owner          map[string]string
		wantTerminated []string
		wantWaiting    bool // held after the first pass, until the instance finishes terminating
		wantReleased   bool
	}{
		{name: "ours: terminated, released once the instance is terminated", object: deletingClaim("p-aaaaa", "karpenter.k8s.aws", "i-1", true),
			owner: map[string]string{"i-1": "node/p-aaaaa"}, wantTerminated: []string{"i-1"}, wantWaiting: true, wantReleased: true},
		{name: "our Node: the same", object: deletingNode("ip-1", "p-aaaaa", "i-1"),
			owner: map[string]string{"i-1": "node/p-aaaaa"}, wantTerminated: []string{"i-1"}, wantWaiting: true, wantReleased: true},
		{name: "an instance EC2 no longer knows: released", object: deletingClaim("p-bbbbb", "karpenter.k8s.aws", "i-2", true),
			owner: map[string]string{}, wantReleased: true},
		{name: "no provider id yet: the instances the workflow launched are found by tag", object: deletingClaim("p-fffff", "karpenter.k8s.aws", "", true),
			owner: map[string]string{"i-6": "node/p-fffff", "i-7": "node/p-other"}, wantTerminated: []string{"i-6"}, wantWaiting: true, wantReleased: true},
		{name: "no provider id and nothing launched: released", object: deletingClaim("p-ggggg", "karpenter.k8s.aws", "", true),
			owner: map[string]string{"i-7": "node/p-other"}, wantReleased: true},
		{name: "labelled, but the instance is another workflow's: left alone", object: deletingClaim("p-ccccc", "karpenter.k8s.aws", "i-3", true),
			owner: map[string]string{"i-3": "node/p-other"}},
		{name: "labelled, but the instance is not Nodewright's in this cluster: left alone", object: deletingClaim("p-ddddd", "karpenter.k8s.aws", "i-4", true),
			owner: map[string]string{"i-4": ""}},
		{name: "a Karpenter's NodeClaim someone labelled, beside Karpenter: left alone", object: deletingClaim("p-eeeee", "karpenter.k8s.aws", "i-5", true),
			group: "nodewright.io", owner: map[string]string{"i-5": "node/p-eeeee"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			group := cmp.Or(tt.group, "karpenter.k8s.aws")
			ec2 := &fakeInstances{owner: tt.owner, state: map[string]string{}}
			w, dyn, kube := watcherOn(t, group, nil, ec2, tt.object)
			claim := tt.object.GetName()
			if n, ok := tt.object.(*corev1.Node); ok {
				claim = n.Labels[v1.LabelNodeClaim]
			}
			waiting, err := w.releaseOrphans(context.Background(), claim, []metav1.Object{tt.object})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ec2.terminated, tt.wantTerminated) {
				t.Errorf("terminated %v, want %v", ec2.terminated, tt.wantTerminated)
			}
			if waiting != tt.wantWaiting {
				t.Errorf("waiting %v, want %v", waiting, tt.wantWaiting)
			}
			if waiting {
				if !finalizersLeft(t, dyn, kube, tt.object) {
					t.Fatal("released while the instance is still shutting down")
				}
				// Looked at again before the instance is done: nothing is terminated twice.
				if again, _ := w.releaseOrphans(context.Background(), claim, []metav1.Object{tt.object}); !again || len(ec2.terminated) != len(tt.wantTerminated) {
					t.Errorf("second look while shutting down: waiting %v, terminated %v", again, ec2.terminated)
				}
				ec2.finish()
				if waiting, err = w.releaseOrphans(context.Background(), claim, []metav1.Object{tt.object}); err != nil || waiting {
					t.Fatalf("after the termination: waiting %v, %v", waiting, err)
				}
			}
			if released := !finalizersLeft(t, dyn, kube, tt.object); released != tt.wantReleased {
				t.Errorf("finalizer released %v, want %v", released, tt.wantReleased)
			}
		})
	}
}

// A deleted NodeClaim whose workflow runs is drained through it, asked once; one whose workflow
// is gone is handled by the watcher itself.
func TestDeletedNodeClaimsGoThroughTheirWorkflow(t *testing.T) {
	ctx := context.Background()
	running := func(phase workflows.Phase) *workflowservice.DescribeWorkflowExecutionResponse {
		p, err := converter.GetDefaultDataConverter().ToPayload(string(phase))
		if err != nil {
			t.Fatal(err)
		}
		return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Status:           enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{workflows.SearchAttrNodePhase.GetName(): p}},
		}}
	}

	t.Run("a running workflow is asked to drain, once", func(t *testing.T) {
		tc := &mocks.Client{}
		tc.On("DescribeWorkflowExecution", mock.Anything, "node/p-aaaaa", "").Return(running(workflows.PhaseReady), nil)
		tc.On("SignalWorkflow", mock.Anything, "node/p-aaaaa", "", workflows.SignalDrain, workflows.DrainRequest{Reason: "nodeclaim deleted"}).Return(nil).Once()
		ec2 := &fakeInstances{owner: map[string]string{"i-1": "node/p-aaaaa"}, state: map[string]string{}}
		w, dyn, kube := watcherOn(t, "karpenter.k8s.aws", tc, ec2, deletingClaim("p-aaaaa", "karpenter.k8s.aws", "i-1", true))
		for range 2 {
			if err := w.deleted(ctx, "p-aaaaa"); err != nil {
				t.Fatal(err)
			}
		}
		tc.AssertExpectations(t)
		if len(ec2.terminated) != 0 || !finalizersLeft(t, dyn, kube, deletingClaim("p-aaaaa", "", "", true)) {
			t.Errorf("the watcher terminated %v or released the NodeClaim itself while its workflow runs", ec2.terminated)
		}
	})
	t.Run("a workflow already leaving is left to finish", func(t *testing.T) {
		tc := &mocks.Client{}
		tc.On("DescribeWorkflowExecution", mock.Anything, "node/p-aaaaa", "").Return(running(workflows.PhaseDraining), nil)
		w, _, _ := watcherOn(t, "karpenter.k8s.aws", tc, &fakeInstances{state: map[string]string{}}, deletingClaim("p-aaaaa", "karpenter.k8s.aws", "i-1", true))
		if err := w.deleted(ctx, "p-aaaaa"); err != nil {
			t.Fatal(err)
		}
		tc.AssertNotCalled(t, "SignalWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything)
	})
	t.Run("no workflow: the watcher terminates, looks again until terminated, then releases the claim and deletes its Node", func(t *testing.T) {
		tc := &mocks.Client{}
		tc.On("DescribeWorkflowExecution", mock.Anything, "node/p-aaaaa", "").Return(nil, serviceerror.NewNotFound("workflow not found"))
		ec2 := &fakeInstances{owner: map[string]string{"i-1": "node/p-aaaaa", "i-2": "node/p-other"}, state: map[string]string{}}
		claim := deletingClaim("p-aaaaa", "karpenter.k8s.aws", "i-1", true)
		live := func(name, instance string) *corev1.Node {
			n := deletingNode(name, "p-aaaaa", instance)
			n.DeletionTimestamp, n.UID = nil, types.UID(name)
			return n
		}
		w, dyn, kube := watcherOn(t, "karpenter.k8s.aws", tc, ec2, claim, live("ip-1", "i-1"), live("ip-stray", "i-2"), live("ip-gone", "i-9"))
		w.recheckShutdown = time.Millisecond
		if err := w.deleted(ctx, "p-aaaaa"); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); w.queue.Len() == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if w.queue.Len() != 1 {
			t.Fatalf("%d items queued while the instance shuts down, want the claim looked at again", w.queue.Len())
		}
		if it, _ := w.queue.Get(); it != (item{claim: "p-aaaaa", kind: kindDeleted}) {
			t.Fatalf("queued %+v, want the claim's deletion", it)
		} else {
			w.queue.Done(it)
		}
		if !finalizersLeft(t, dyn, kube, claim) || !nodeExists(t, kube, "ip-1") {
			t.Fatal("released the claim or deleted its Node while the instance still shuts down")
		}
		ec2.finish()
		if err := w.deleted(ctx, "p-aaaaa"); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ec2.terminated, []string{"i-1"}) || finalizersLeft(t, dyn, kube, claim) {
			t.Errorf("terminated %v, finalizer left %v; want i-1 terminated and the NodeClaim released", ec2.terminated, finalizersLeft(t, dyn, kube, claim))
		}
		// Deleted: the Node on the claim's instance, and one whose instance EC2 no longer knows;
		// kept: one labelled with the claim on an instance another workflow launched.
		for node, want := range map[string]bool{"ip-1": false, "ip-gone": false, "ip-stray": true} {
			if got := nodeExists(t, kube, node); got != want {
				t.Errorf("node %s exists %v, want %v", node, got, want)
			}
		}
		time.Sleep(20 * w.recheckShutdown)
		if n := w.queue.Len(); n != 0 {
			t.Errorf("%d items queued after the release, want none", n)
		}
	})
}

func nodeExists(t *testing.T, kube *fake.Clientset, name string) bool {
	t.Helper()
	_, err := kube.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
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
