package activities

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

type nodeOption func(*corev1.Node)

func node(name string, opts ...nodeOption) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, o := range opts {
		o(n)
	}
	return n
}

func withProviderID(id string) nodeOption { return func(n *corev1.Node) { n.Spec.ProviderID = id } }
func withReady(status corev1.ConditionStatus) nodeOption {
	return func(n *corev1.Node) {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}
	}
}
func withNodeLabels(l map[string]string) nodeOption { return func(n *corev1.Node) { n.Labels = l } }
func withNodeTaints(t ...corev1.Taint) nodeOption   { return func(n *corev1.Node) { n.Spec.Taints = t } }

// runActivity runs an activity the way a worker would, so heartbeats work.
func runActivity(t *testing.T, fn any, args ...any) (converter.EncodedValue, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(fn)
	return env.ExecuteActivity(fn, args...)
}

// countActions counts the client's recorded actions with the verb on the resource.
func countActions(client *fake.Clientset, verb, resource string) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource && a.GetSubresource() == "" {
			n++
		}
	}
	return n
}

func TestWaitForNodeFindsTheNodeByProviderID(t *testing.T) {
	client := fake.NewClientset(
		node("other", withProviderID("aws:///us-east-1a/i-other")),
		node("ip-10-0-0-7", withProviderID("aws:///us-east-1a/i-7")),
	)
	k := &Kube{Client: client}
	v, err := runActivity(t, k.WaitForNode, "aws:///us-east-1a/i-7")
	if err != nil {
		t.Fatalf("wait for node: %v", err)
	}
	var name string
	if err := v.Get(&name); err != nil {
		t.Fatal(err)
	}
	if name != "ip-10-0-0-7" {
		t.Errorf("node = %q, want ip-10-0-0-7", name)
	}
}

func TestWaitForNodeWaitsUntilTheNodeRegisters(t *testing.T) {
	client := fake.NewClientset()
	lists := 0
	client.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		lists++
		if lists == 3 {
			// The kubelet registers between the second and third look.
			if err := client.Tracker().Add(node("late", withProviderID("aws:///us-east-1b/i-late"))); err != nil {
				t.Errorf("add node: %v", err)
			}
		}
		return false, nil, nil
	})
	k := &Kube{Client: client}
	v, err := runActivity(t, k.WaitForNode, "aws:///us-east-1b/i-late")
	if err != nil {
		t.Fatalf("wait for node: %v", err)
	}
	var name string
	_ = v.Get(&name)
	if name != "late" || lists != 3 {
		t.Errorf("found %q after %d lists, want late after 3", name, lists)
	}
}

// A wait for a Node heartbeats only once it has waited QuietWait on the worker's clock: each
// heartbeat is a write to Temporal's database, and most waits of a scale-out end within
// seconds.
func TestWaitsForANodeHeartbeatOnlyOnceTheyHaveWaitedAWhile(t *testing.T) {
	const providerID = "aws:///us-east-1b/i-late"
	// Each wait sees the Node it waits for at its second look; run runs it in env.
	type run func(env *testsuite.TestActivityEnvironment, k *Kube) error
	register := func(t *testing.T, client *fake.Clientset) run {
		looks := 0
		client.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
			if looks++; looks == 2 {
				if err := client.Tracker().Add(node("late", withProviderID(providerID))); err != nil {
					t.Errorf("add node: %v", err)
				}
			}
			return false, nil, nil
		})
		return func(env *testsuite.TestActivityEnvironment, k *Kube) error {
			env.RegisterActivity(k.RegisterNode)
			_, err := env.ExecuteActivity(k.RegisterNode, RegisterRequest{ProviderID: providerID})
			return err
		}
	}
	initialize := func(t *testing.T, client *fake.Clientset) run {
		if err := client.Tracker().Add(node("late", withProviderID(providerID), withReady(corev1.ConditionFalse))); err != nil {
			t.Fatal(err)
		}
		looks := 0
		client.PrependReactor("get", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
			if looks++; looks == 2 {
				if err := client.Tracker().Update(corev1.SchemeGroupVersion.WithResource("nodes"), node("late", withProviderID(providerID), withReady(corev1.ConditionTrue)), ""); err != nil {
					t.Errorf("update node: %v", err)
				}
			}
			return false, nil, nil
		})
		return func(env *testsuite.TestActivityEnvironment, k *Kube) error {
			env.RegisterActivity(k.WaitNodeInitialized)
			_, err := env.ExecuteActivity(k.WaitNodeInitialized, InitializeRequest{NodeName: "late"})
			return err
		}
	}
	tests := []struct {
		name   string
		wait   func(*testing.T, *fake.Clientset) run
		waited time.Duration // how far the worker's clock moves once the wait has begun
		want   []string      // the heartbeats' details the SDK sends (it holds back the later ones of a burst)
	}{
		{name: "registration, short", wait: register},
		{name: "registration, long", wait: register, waited: QuietWait, want: []string{"no node with providerID " + providerID + " yet"}},
		{name: "initialization, short", wait: initialize},
		{name: "initialization, long", wait: initialize, waited: QuietWait, want: []string{"node late not Ready yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			wait := tt.wait(t, client)
			began := time.Now()
			readings := 0
			k := &Kube{Client: client, now: func() time.Time {
				if readings++; readings == 1 {
					return began // the activity's own start
				}
				return began.Add(tt.waited)
			}}
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			var got []string
			env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
				var d string
				if err := details.Get(&d); err != nil {
					t.Errorf("heartbeat details: %v", err)
				}
				got = append(got, d)
			})
			if err := wait(env, k); err != nil {
				t.Fatalf("wait: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("heartbeats %q, want %q", got, tt.want)
			}
		})
	}
}

// Registration finds the instance's Node and syncs it in the same call: the Node loses its
// karpenter.sh/unregistered taint and gains the claim's labels and taints before RegisterNode
// returns its name.
func TestRegisterNodeSyncsTheNodeItFinds(t *testing.T) {
	unregistered := corev1.Taint{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute}
	client := fake.NewClientset(node("ip-10-0-0-9", withProviderID("aws:///us-east-1a/i-9"), withNodeTaints(unregistered)))
	req := RegisterRequest{ProviderID: "aws:///us-east-1a/i-9", Sync: SyncRequest{
		Labels: map[string]string{"karpenter.sh/nodeclaim": "default-x", "karpenter.sh/registered": "true"},
		Taints: []corev1.Taint{{Key: "dedicated", Value: "web", Effect: corev1.TaintEffectNoSchedule}},
	}}
	v, err := runActivity(t, (&Kube{Client: client}).RegisterNode, req)
	if err != nil {
		t.Fatalf("register node: %v", err)
	}
	var name string
	if err := v.Get(&name); err != nil || name != "ip-10-0-0-9" {
		t.Fatalf("registered %q (%v), want ip-10-0-0-9", name, err)
	}
	got, err := client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["karpenter.sh/nodeclaim"] != "default-x" || got.Labels["karpenter.sh/registered"] != "true" {
		t.Errorf("labels %v, want the claim's and karpenter.sh/registered", got.Labels)
	}
	if !slices.Equal(got.Spec.Taints, req.Sync.Taints) {
		t.Errorf("taints %v, want only the claim's %v", got.Spec.Taints, req.Sync.Taints)
	}
}

// A Node is initialized, as Karpenter has it, once it is Ready, its startup and ephemeral
// taints are gone and every resource its pods request shows in its allocatable.
func TestNotInitializedAsKarpenterHasIt(t *testing.T) {
	startup := corev1.Taint{Key: "node.cilium.io/agent-not-ready", Effect: corev1.TaintEffectNoExecute}
	gpu := corev1.ResourceName("nvidia.com/gpu")
	requests := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), gpu: resource.MustParse("1")}
	allocatable := func(rl corev1.ResourceList) nodeOption {
		return func(n *corev1.Node) { n.Status.Allocatable = rl }
	}
	withGPU := allocatable(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), gpu: resource.MustParse("1")})
	tests := []struct {
		name     string
		node     *corev1.Node
		requests corev1.ResourceList
		want     string
	}{
		{"not Ready", node("n", withGPU), requests, "not Ready yet"},
		{"a startup taint left", node("n", withReady(corev1.ConditionTrue), withGPU, withNodeTaints(startup)), requests,
			"still has taint " + startup.ToString()},
		{"the not-ready taint left", node("n", withReady(corev1.ConditionTrue), withGPU,
			withNodeTaints(corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule})), requests,
			"still has taint node.kubernetes.io/not-ready:NoSchedule"},
		{"the GPU not registered yet", node("n", withReady(corev1.ConditionTrue),
			allocatable(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), gpu: resource.MustParse("0")})), requests,
			"has no nvidia.com/gpu in allocatable yet"},
		{"the GPU absent from allocatable", node("n", withReady(corev1.ConditionTrue),
			allocatable(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")})), requests,
			"has no nvidia.com/gpu in allocatable yet"},
		{"a zero request asks for nothing", node("n", withReady(corev1.ConditionTrue), allocatable(nil)),
			corev1.ResourceList{gpu: resource.MustParse("0")}, ""},
		{"initialized", node("n", withReady(corev1.ConditionTrue), withGPU,
			withNodeTaints(corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule})), requests, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notInitialized(tt.node, []corev1.Taint{startup}, tt.requests); got != tt.want {
				t.Errorf("notInitialized = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSyncNodeAddsWhatIsMissingAndIsIdempotent(t *testing.T) {
	client := fake.NewClientset(node("n1",
		withNodeLabels(map[string]string{"kubernetes.io/hostname": "n1", "team": "old"}),
		withNodeTaints(corev1.Taint{Key: "dedicated", Value: "old", Effect: corev1.TaintEffectNoSchedule}),
	))
	k := &Kube{Client: client}
	req := SyncRequest{
		NodeName: "n1",
		Labels:   map[string]string{"team": "web", "karpenter.sh/registered": "true"},
		Taints: []corev1.Taint{
			{Key: "dedicated", Value: "web", Effect: corev1.TaintEffectNoSchedule},
			{Key: "gpu", Effect: corev1.TaintEffectNoExecute},
		},
	}
	for run := range 2 {
		if _, err := runActivity(t, k.SyncNode, req); err != nil {
			t.Fatalf("sync run %d: %v", run+1, err)
		}
	}
	got, err := client.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{"kubernetes.io/hostname": "n1", "team": "web", "karpenter.sh/registered": "true"}
	for k, v := range wantLabels {
		if got.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, got.Labels[k], v)
		}
	}
	if want := req.Taints; !slices.Equal(got.Spec.Taints, want) {
		t.Errorf("taints = %v, want %v", got.Spec.Taints, want)
	}
	if n := countActions(client, "update", "nodes"); n != 1 {
		t.Errorf("%d node updates over two syncs, want 1 (the second sync has nothing to do)", n)
	}
}

// The termination finalizer and the instance type's labels go on only where asked for; the
// kubelet's own labels stand.
func TestSyncNodeFinalizerAndInstanceTypeLabels(t *testing.T) {
	for _, finalizer := range []bool{false, true} {
		n := node("n1", withNodeLabels(map[string]string{"kubernetes.io/arch": "amd64"}))
		if !finalizer {
			// Left by a worker that ran with the CRDs.
			n.Finalizers = []string{"example.com/other", FinalizerTermination}
		}
		client := fake.NewClientset(n)
		k := &Kube{Client: client, TerminationFinalizer: finalizer, InstanceTypeLabels: func(name string) map[string]string {
			return map[string]string{"kubernetes.io/arch": "arm64", "karpenter.k8s.aws/instance-family": "m5"}
		}}
		if _, err := runActivity(t, k.SyncNode, SyncRequest{NodeName: "n1", InstanceType: "m5.large"}); err != nil {
			t.Fatal(err)
		}
		got, err := client.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if has := slices.Contains(got.Finalizers, FinalizerTermination); has != finalizer || !finalizer && len(got.Finalizers) != 1 {
			t.Errorf("TerminationFinalizer %v: finalizers %v", finalizer, got.Finalizers)
		}
		if got.Labels["karpenter.k8s.aws/instance-family"] != "m5" || got.Labels["kubernetes.io/arch"] != "amd64" {
			t.Errorf("labels %v, want the type's family added and the kubelet's arch kept", got.Labels)
		}
	}
}

func TestWaitNodeReadyReturnsOnceTheNodeIsReady(t *testing.T) {
	client := fake.NewClientset(node("n1", withReady(corev1.ConditionFalse)))
	gets := 0
	client.PrependReactor("get", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		gets++
		if gets == 2 {
			return true, node("n1", withReady(corev1.ConditionTrue)), nil
		}
		return false, nil, nil
	})
	if _, err := runActivity(t, (&Kube{Client: client}).WaitNodeReady, "n1"); err != nil {
		t.Fatalf("wait ready: %v", err)
	}
	if gets != 2 {
		t.Errorf("returned after %d looks, want 2 (the first saw NotReady)", gets)
	}
}

// TaintOwnNode taints only the Node that stands for the request's instance.
func TestTaintOwnNode(t *testing.T) {
	tests := []struct {
		name        string
		nodes       []k8sruntime.Object
		instanceID  string
		wantUpdates int
		wantRefused bool
	}{
		{name: "the instance's node gets the taint", nodes: []k8sruntime.Object{node("n1", withProviderID("aws:///zone-a/i-1"))}, instanceID: "i-1", wantUpdates: 1},
		{name: "another instance's node under the name is refused", nodes: []k8sruntime.Object{node("n1", withProviderID("aws:///zone-a/i-2"))}, instanceID: "i-1", wantRefused: true},
		{name: "a request naming no instance is refused", nodes: []k8sruntime.Object{node("n1", withProviderID("aws:///zone-a/i-1"))}, wantRefused: true},
		{name: "a node that is gone needs no taint", instanceID: "i-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.nodes...)
			_, err := runActivity(t, (&Kube{Client: client}).TaintOwnNode, TaintRequest{NodeName: "n1", InstanceID: tt.instanceID, Taint: DisruptedTaint()})
			var appErr *temporal.ApplicationError
			refused := errors.As(err, &appErr) && appErr.Type() == ErrTypeNotOwned
			if refused != tt.wantRefused || (err != nil && !refused) {
				t.Fatalf("taint: %v, want refused %v", err, tt.wantRefused)
			}
			if n := countActions(client, "update", "nodes"); n != tt.wantUpdates {
				t.Errorf("%d updates, want %d", n, tt.wantUpdates)
			}
		})
	}
}

func TestTaintNode(t *testing.T) {
	tests := []struct {
		name        string
		nodes       []k8sruntime.Object
		wantUpdates int
	}{
		{name: "a node without the taint gets it", nodes: []k8sruntime.Object{node("n1")}, wantUpdates: 1},
		{name: "a node with the taint is left alone", nodes: []k8sruntime.Object{node("n1", withNodeTaints(DisruptedTaint()))}, wantUpdates: 0},
		{name: "a node that is gone needs no taint", wantUpdates: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.nodes...)
			if _, err := runActivity(t, (&Kube{Client: client}).TaintNode, "n1", DisruptedTaint()); err != nil {
				t.Fatalf("taint: %v", err)
			}
			if n := countActions(client, "update", "nodes"); n != tt.wantUpdates {
				t.Errorf("%d updates, want %d", n, tt.wantUpdates)
			}
			if len(tt.nodes) > 0 {
				got, _ := client.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
				disrupted := DisruptedTaint()
				if !slices.ContainsFunc(got.Spec.Taints, func(t corev1.Taint) bool { return t.MatchTaint(&disrupted) }) {
					t.Errorf("node taints %v lack %s", got.Spec.Taints, disrupted.ToString())
				}
			}
		})
	}
}

func TestDeleteNodeActsOnlyOnTheNodeOfTheInstance(t *testing.T) {
	held := func(n *corev1.Node) { n.Finalizers = []string{FinalizerTermination} }
	managed := withNodeLabels(map[string]string{LabelManaged: "true"})
	tests := []struct {
		name        string
		node        *corev1.Node
		req         DeleteNodeRequest
		wantDeleted bool
		wantRefusal string
	}{
		{name: "the instance's Node is deleted and released",
			node: node("n1", withProviderID("aws:///zone-a/i-1"), held), req: DeleteNodeRequest{NodeName: "n1", InstanceID: "i-1"}, wantDeleted: true},
		{name: "a Node of another instance is refused",
			node: node("n1", withProviderID("aws:///zone-a/i-2"), held, managed), req: DeleteNodeRequest{NodeName: "n1", InstanceID: "i-1"},
			wantRefusal: `node n1 has providerID "aws:///zone-a/i-2", not one of instance i-1`},
		{name: "a Node without a providerID is refused",
			node: node("n1", managed), req: DeleteNodeRequest{NodeName: "n1", InstanceID: "i-1"}, wantRefusal: "not one of instance i-1"},
		{name: "a missing Node counts as deleted",
			node: node("other"), req: DeleteNodeRequest{NodeName: "n1", InstanceID: "i-1"}},
		{name: "an older worker's bare name deletes a Node labelled as Nodewright's",
			node: node("n1", managed, held), req: DeleteNodeRequest{NodeName: "n1"}, wantDeleted: true},
		{name: "an older worker's bare name is refused a Node not labelled as Nodewright's",
			node: node("n1", withProviderID("aws:///zone-a/i-1")), req: DeleteNodeRequest{NodeName: "n1"}, wantRefusal: "lacks the label " + LabelManaged},
		{name: "a Node found by the instance's providerID is deleted and released",
			node: node("n1", withProviderID("aws:///zone-a/i-1"), held), req: DeleteNodeRequest{InstanceID: "i-1", ProviderID: "aws:///zone-a/i-1"}, wantDeleted: true},
		{name: "no Node with the providerID: nothing to delete",
			node: node("n1", withProviderID("aws:///zone-a/i-2"), held), req: DeleteNodeRequest{InstanceID: "i-1", ProviderID: "aws:///zone-a/i-1"}},
		{name: "a providerID that names another instance finds a Node the refusal keeps",
			node: node("n1", withProviderID("aws:///zone-a/i-2"), held), req: DeleteNodeRequest{InstanceID: "i-1", ProviderID: "aws:///zone-a/i-2"},
			wantRefusal: "not one of instance i-1"},
		{name: "neither a name nor a providerID is refused",
			node: node("n1", withProviderID("aws:///zone-a/i-1"), held), req: DeleteNodeRequest{InstanceID: "i-1"}, wantRefusal: "names neither a node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.node)
			_, err := runActivity(t, (&Kube{Client: client}).DeleteNode, tt.req)
			assertRefusal(t, err, tt.wantRefusal)
			if deletes := countActions(client, "delete", "nodes"); (deletes > 0) != tt.wantDeleted {
				t.Errorf("%d node deletes, want deleted: %v", deletes, tt.wantDeleted)
			}
			got, err := client.CoreV1().Nodes().Get(context.Background(), tt.node.Name, metav1.GetOptions{})
			if tt.wantDeleted && err == nil && len(got.Finalizers) > 0 {
				t.Errorf("node %s still held by %v after delete", got.Name, got.Finalizers)
			}
			if !tt.wantDeleted && (err != nil || !slices.Equal(got.Finalizers, tt.node.Finalizers)) {
				t.Errorf("node %s changed: %v, finalizers %v", tt.node.Name, err, got.Finalizers)
			}
		})
	}
}

type podOption func(*corev1.Pod)

func pod(name string, opts ...podOption) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: "n1"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func onNode(n string) podOption { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func finished() podOption       { return func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded } }

// A Ready node is initialized only once the daemon that owns its startup taint has removed
// it; then it is labelled karpenter.sh/initialized.
func TestWaitNodeInitializedWaitsForStartupTaintsToGo(t *testing.T) {
	startup := corev1.Taint{Key: "node.cilium.io/agent-not-ready", Effect: corev1.TaintEffectNoExecute}
	client := fake.NewClientset(node("n1", withReady(corev1.ConditionTrue), withNodeTaints(startup)))
	looks := 0
	client.PrependReactor("get", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		looks++
		if looks == 3 { // the daemon is up
			if err := client.Tracker().Update(corev1.SchemeGroupVersion.WithResource("nodes"), node("n1", withReady(corev1.ConditionTrue)), ""); err != nil {
				t.Errorf("update node: %v", err)
			}
		}
		return false, nil, nil
	})
	req := InitializeRequest{NodeName: "n1", StartupTaints: []corev1.Taint{startup}}
	if _, err := runActivity(t, (&Kube{Client: client}).WaitNodeInitialized, req); err != nil {
		t.Fatalf("wait initialized: %v", err)
	}
	got, err := client.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["karpenter.sh/initialized"] != "true" || looks < 3 {
		t.Errorf("labels %v after %d looks; want initialized once the startup taint went", got.Labels, looks)
	}
}

// The initialized label goes on in one merge patch carrying the Node's UID, never as a read
// and an update a status write of the kubelet could make conflict; a labelled Node gets none,
// and a ClusterRole without patch on nodes gets the read and the update.
func TestInitializedLabelIsOnePatch(t *testing.T) {
	tests := []struct {
		name        string
		labels      map[string]string
		forbidPatch bool
		// registeredAgain: the Node read by the fallback has another UID.
		registeredAgain bool
		wantWrites      []string
		wantErr         string
	}{
		{name: "a node not yet labelled gets one patch", wantWrites: []string{"patch"}},
		{name: "a labelled node gets none", labels: map[string]string{"karpenter.sh/initialized": "true"}},
		{name: "a role without patch gets an update", forbidPatch: true, wantWrites: []string{"patch", "update"}},
		{name: "a role without patch leaves a Node registered again to the retry", forbidPatch: true, registeredAgain: true,
			wantWrites: []string{"patch"}, wantErr: "registered again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := node("n1", withReady(corev1.ConditionTrue), withNodeLabels(tt.labels))
			n.UID = "uid-1"
			client := fake.NewClientset(n)
			if tt.forbidPatch {
				client.PrependReactor("patch", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
					return true, nil, apierrors.NewForbidden(corev1.Resource("nodes"), "n1", errors.New("cannot patch resource"))
				})
			}
			if tt.registeredAgain {
				gets := 0
				client.PrependReactor("get", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
					if gets++; gets == 1 {
						return false, nil, nil
					}
					again := n.DeepCopy()
					again.UID = "uid-2"
					return true, again, nil
				})
			}
			_, err := runActivity(t, (&Kube{Client: client}).WaitNodeInitialized, InitializeRequest{NodeName: "n1"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("wait initialized: %v, want an error saying %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("wait initialized: %v", err)
			}
			var writes []string
			for _, a := range client.Actions() {
				if a.GetVerb() == "get" || a.GetVerb() == "list" || a.GetVerb() == "watch" {
					continue
				}
				writes = append(writes, a.GetVerb())
				if p, ok := a.(k8stesting.PatchAction); ok {
					if p.GetPatchType() != types.MergePatchType || !strings.Contains(string(p.GetPatch()), `"uid":"uid-1"`) {
						t.Errorf("patch %s %s, want a merge patch with the node's UID", p.GetPatchType(), p.GetPatch())
					}
				}
			}
			if !slices.Equal(writes, tt.wantWrites) {
				t.Errorf("writes %v, want %v", writes, tt.wantWrites)
			}
			got, err := client.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.wantErr == ""; (got.Labels["karpenter.sh/initialized"] == "true") != want {
				t.Errorf("labels %v, want karpenter.sh/initialized=true: %v", got.Labels, want)
			}
		})
	}
}

// With a synced Node cache, waiting for a node reads the cache, not the API server.
func TestWaitsReadTheNodeCache(t *testing.T) {
	client := fake.NewClientset(node("n1", withProviderID("aws:///us-east-1a/i-1"), withReady(corev1.ConditionTrue)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cache := NewNodeCache(NewInformerFactory(client))
	go func() { _ = cache.Run(ctx) }()
	for !cache.Synced() {
		runtime.Gosched()
	}
	client.ClearActions()
	k := &Kube{Client: client, Nodes: cache}
	if _, err := runActivity(t, k.WaitForNode, "aws:///us-east-1a/i-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := runActivity(t, k.WaitNodeReady, "n1"); err != nil {
		t.Fatal(err)
	}
	for _, a := range client.Actions() {
		if a.GetResource().Resource == "nodes" && (a.GetVerb() == "list" || a.GetVerb() == "get") {
			t.Errorf("the wait asked the API server: %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
}

// SyncNode starts from the worker's cached Node and writes only its change, as a patch that
// a status written since does not refuse; the API server is read when the cache lacks the
// Node or the patch is refused (the taint to remove moved since, a ClusterRole without patch).
func TestSyncNodeStartsFromTheNodeCache(t *testing.T) {
	unregistered := corev1.Taint{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute}
	other := corev1.Taint{Key: "example.com/other", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name      string
		inAPI     *corev1.Node
		inCache   *corev1.Node // nil: the cache lacks it
		refuse    error        // the patch's answer
		want      []string
		wantTaint []corev1.Taint
	}{
		{name: "a cached Node is patched without a read",
			inAPI: node("n1", withNodeTaints(unregistered)), inCache: node("n1", withNodeTaints(unregistered)), want: []string{"patch"}},
		{name: "a taint added since it was cached is kept",
			inAPI: node("n1", withNodeTaints(unregistered, other)), inCache: node("n1", withNodeTaints(unregistered)),
			want: []string{"patch"}, wantTaint: []corev1.Taint{other}},
		{name: "a taint put ahead since it was cached moves the one to remove: the patch is refused and the Node read",
			inAPI: node("n1", withNodeTaints(other, unregistered)), inCache: node("n1", withNodeTaints(unregistered)),
			want: []string{"patch", "get", "update"}, wantTaint: []corev1.Taint{other}},
		{name: "a patch the API server refuses for a failed test falls back to a read and an update",
			inAPI: node("n1", withNodeTaints(unregistered)), inCache: node("n1", withNodeTaints(unregistered)),
			refuse: apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "patch", corev1.Resource("nodes"), "n1", "testing value /spec/taints/0 failed", 0, false),
			want:   []string{"patch", "get", "update"}},
		{name: "a ClusterRole without patch on nodes falls back to a read and an update",
			inAPI: node("n1", withNodeTaints(unregistered)), inCache: node("n1", withNodeTaints(unregistered)),
			refuse: apierrors.NewForbidden(corev1.Resource("nodes"), "n1", errors.New("no patch")), want: []string{"patch", "get", "update"}},
		{name: "a Node the cache lacks is read", inAPI: node("n1", withNodeTaints(unregistered)), want: []string{"get", "update"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.inAPI)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			factory := NewInformerFactory(client)
			cache := NewNodeCache(factory)
			go func() { _ = cache.Run(ctx) }()
			for !cache.Synced() {
				runtime.Gosched()
			}
			store := factory.Core().V1().Nodes().Informer().GetStore()
			_ = store.Delete(tt.inAPI)
			if tt.inCache != nil {
				_ = store.Add(tt.inCache)
			}
			if tt.refuse != nil {
				client.PrependReactor("patch", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
					return true, nil, tt.refuse
				})
			}
			client.ClearActions()
			k := &Kube{Client: client, Nodes: cache}
			if _, err := runActivity(t, k.SyncNode, SyncRequest{NodeName: "n1", Labels: map[string]string{"team": "web"}}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range client.Actions() {
				if a.GetResource().Resource == "nodes" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
					got = append(got, a.GetVerb())
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("requests %v, want %v", got, tt.want)
			}
			n, err := client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
			if err != nil || n.Labels["team"] != "web" {
				t.Errorf("node labels %v (%v), want team=web", n.GetLabels(), err)
			}
			if !equality.Semantic.DeepEqual(n.Spec.Taints, tt.wantTaint) {
				t.Errorf("taints %v, want %v", n.Spec.Taints, tt.wantTaint)
			}
		})
	}
}
