package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/flowcontrol"
	testingclock "k8s.io/utils/clock/testing"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func transitions(phases ...string) []PhaseAt {
	out := make([]PhaseAt, len(phases))
	for i, p := range phases {
		out[i] = PhaseAt{Phase: p, At: t0.Add(time.Duration(i) * time.Minute)}
	}
	return out
}

func TestProjectedConditionsFollowThePhases(t *testing.T) {
	tests := []struct {
		name        string
		p           NodeClaimProjection
		want        map[string]metav1.ConditionStatus
		wantReasons map[string]string
	}{
		{
			name: "launching: nothing done yet",
			p:    NodeClaimProjection{Phase: "Launching", Transitions: transitions("Launching")},
			want: map[string]metav1.ConditionStatus{v1.ConditionLaunched: "Unknown", v1.ConditionRegistered: "Unknown", v1.ConditionInitialized: "Unknown", v1.ConditionReady: "Unknown"},
		},
		{
			name:        "registering: launched",
			p:           NodeClaimProjection{Phase: "Registering", Transitions: transitions("Launching", "Registering")},
			want:        map[string]metav1.ConditionStatus{v1.ConditionLaunched: "True", v1.ConditionRegistered: "Unknown", v1.ConditionReady: "Unknown"},
			wantReasons: map[string]string{v1.ConditionReady: "NotRegistered"},
		},
		{
			name: "ready: all three and Ready",
			p:    NodeClaimProjection{Phase: "Ready", Transitions: transitions("Launching", "Registering", "Initializing", "Ready")},
			want: map[string]metav1.ConditionStatus{v1.ConditionLaunched: "True", v1.ConditionRegistered: "True", v1.ConditionInitialized: "True", v1.ConditionReady: "True"},
		},
		{
			name:        "failed before registering: registration failed, with the error",
			p:           NodeClaimProjection{Phase: "Failed", Transitions: transitions("Launching", "Registering", "Failed"), LastError: "no node within 15m"},
			want:        map[string]metav1.ConditionStatus{v1.ConditionLaunched: "True", v1.ConditionRegistered: "False", v1.ConditionReady: "False"},
			wantReasons: map[string]string{v1.ConditionRegistered: "RegistrationFailed"},
		},
		{
			name: "consolidated: Disrupting with Karpenter's reason, then drained and terminating",
			p: NodeClaimProjection{Phase: "Terminating", Transitions: transitions("Launching", "Registering", "Initializing", "Ready", "Draining", "Terminating"),
				Disruption: &ProjectedDisruption{Source: "Disruption", Reason: "Underutilized", At: t0.Add(time.Hour)}},
			want:        map[string]metav1.ConditionStatus{v1.ConditionDisrupting: "True", v1.ConditionDrained: "True", v1.ConditionInstanceTerminating: "True", v1.ConditionReady: "True"},
			wantReasons: map[string]string{v1.ConditionDisrupting: "Underutilized"},
		},
		{
			name: "an operator's free-text reason is the message; the source is the reason",
			p: NodeClaimProjection{Phase: "Ready", Transitions: transitions("Launching", "Registering", "Initializing", "Ready"),
				Disruption: &ProjectedDisruption{Source: "Manual", Reason: "kernel upgrade #42", At: t0}},
			want:        map[string]metav1.ConditionStatus{v1.ConditionDisrupting: "True"},
			wantReasons: map[string]string{v1.ConditionDisrupting: "Manual"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]metav1.Condition{}
			for _, c := range projectedConditions(tt.p) {
				if c.Reason == "" || !conditionReasonPattern.MatchString(c.Reason) {
					t.Errorf("%s has reason %q, which the API refuses", c.Type, c.Reason)
				}
				got[c.Type] = c
			}
			for typ, want := range tt.want {
				if got[typ].Status != want {
					t.Errorf("%s = %q, want %q", typ, got[typ].Status, want)
				}
			}
			for typ, want := range tt.wantReasons {
				if got[typ].Reason != want {
					t.Errorf("%s reason = %q, want %q", typ, got[typ].Reason, want)
				}
			}
			if _, ok := got[v1.ConditionDisrupting]; ok != (tt.p.Disruption != nil) {
				t.Errorf("Disrupting present %v, want it only once the node has a disruption", ok)
			}
		})
	}
}

func newNodeClaims(t *testing.T, objects ...runtime.Object) (*NodeClaims, *dynamicfake.FakeDynamicClient, *events.FakeRecorder) {
	t.Helper()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{v1.NodeClaimResource: "NodeClaimList"})
	kube := fake.NewClientset(objects...)
	rec := events.NewFakeRecorder(100)
	types := func(name string) map[string]string {
		return map[string]string{v1.LabelInstanceType: name, "karpenter.k8s.aws/instance-category": name[:1]}
	}
	return &NodeClaims{Client: dyn, Kube: kube, Recorder: rec, InstanceTypeLabels: types}, dyn, rec
}

// getNodeClaim reads a NodeClaim back from the fake API server.
func getNodeClaim(t *testing.T, dyn *dynamicfake.FakeDynamicClient, name string) v1.NodeClaim {
	t.Helper()
	u, err := dyn.Resource(v1.NodeClaimResource).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var c v1.NodeClaim
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestProjectNodeClaimFromLaunchToRelease(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ip-1"}, Status: corev1.NodeStatus{
		Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}, Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1930m")}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", UID: "pod-uid"}}
	n, dyn, rec := newNodeClaims(t, node, pod)
	ctx := context.Background()
	claim := Claim{
		Name: "default-abcde", NodePool: "default", NodePoolUID: "pool-uid", Pods: []string{"ns/web-1"},
		InstanceTypes: []string{"m5.large", "c5.large"}, Zones: []string{"us-east-1a"}, CapacityTypes: []string{"on-demand"},
		Labels: map[string]string{"team": "web"}, PoolHash: "h1", ExpireAfter: 720 * time.Hour,
		NodeClassRef: &v1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: "default"},
		Requests:     corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
	}
	get := func() v1.NodeClaim {
		t.Helper()
		return getNodeClaim(t, dyn, claim.Name)
	}

	if err := n.ProjectNodeClaim(ctx, NodeClaimProjection{Claim: claim, Phase: "Launching", Transitions: transitions("Launching")}); err != nil {
		t.Fatal(err)
	}
	c := get()
	if !slices.Contains(c.Finalizers, FinalizerTermination) || len(c.OwnerReferences) != 1 || c.OwnerReferences[0].UID != "pool-uid" ||
		c.Labels[v1.LabelNodePool] != "default" || c.Labels[LabelManaged] != "true" || c.Labels["team"] != "web" ||
		c.Annotations[v1.AnnotationNodePoolHash] != "h1" || c.Spec.NodeClassRef.Name != "default" || c.Spec.ExpireAfter.Duration != 720*time.Hour {
		t.Errorf("created NodeClaim %+v", c.ObjectMeta)
	}
	if len(c.Spec.Requirements) != 5 || c.Spec.Requirements[1].Key != v1.LabelInstanceType || len(c.Spec.Requirements[1].Values) != 2 {
		t.Errorf("requirements %+v, want pool, instance types, zones, capacity types and the team label", c.Spec.Requirements)
	}
	if e := <-rec.Events; e != "Normal Nominated Pod should schedule on: nodeclaim/default-abcde" {
		t.Errorf("first event %q, want the pod's Nominated", e)
	}

	ready := NodeClaimProjection{Claim: claim, Phase: "Ready", Transitions: transitions("Launching", "Registering", "Initializing", "Ready"),
		InstanceID: "i-1", InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "on-demand", NodeName: "ip-1"}
	if err := n.ProjectNodeClaim(ctx, ready); err != nil {
		t.Fatal(err)
	}
	c = get()
	if c.Status.ProviderID != "aws:///us-east-1a/i-1" || c.Status.NodeName != "ip-1" || c.Status.Capacity.Cpu().String() != "2" ||
		c.Labels[v1.LabelInstanceType] != "m5.large" || c.Labels["karpenter.k8s.aws/instance-category"] != "m" || c.Labels[v1.LabelZone] != "us-east-1a" {
		t.Errorf("ready NodeClaim labels %v status %+v", c.Labels, c.Status)
	}
	if s, _ := conditionOf(c, v1.ConditionReady); s != metav1.ConditionTrue {
		t.Errorf("Ready = %q", s)
	}

	// The disruption controller's conditions survive the workflow's next projection.
	if _, err := n.setDisruptionConditions(ctx, map[string]ClaimDisruptionState{claim.Name: {Drifted: true}}, t0); err != nil {
		t.Fatalf("the Drifted condition was not written: %v", err)
	}
	ready.Disruption = &ProjectedDisruption{Source: "Disruption", Reason: "Drifted", At: t0.Add(time.Hour)}
	if err := n.ProjectNodeClaim(ctx, ready); err != nil {
		t.Fatal(err)
	}
	c = get()
	if s, _ := conditionOf(c, v1.ConditionDrifted); s != metav1.ConditionTrue {
		t.Errorf("Drifted = %q after the workflow wrote its own conditions, want it kept", s)
	}
	if s, r := conditionOf(c, v1.ConditionDisrupting); s != metav1.ConditionTrue || r != "Drifted" {
		t.Errorf("Disrupting = %q (%s)", s, r)
	}
	if e := <-rec.Events; e != "Normal DisruptionTerminating Disrupting Node: Drifted (Disruption)" {
		t.Errorf("event %q, want DisruptionTerminating", e)
	}

	if err := n.ReleaseNodeClaim(ctx, claim.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(v1.NodeClaimResource).Get(ctx, claim.Name, metav1.GetOptions{}); err == nil {
		t.Error("the NodeClaim is still there after its release")
	}
	if err := n.ReleaseNodeClaim(ctx, claim.Name); err != nil {
		t.Errorf("releasing a NodeClaim already gone: %v", err)
	}
	// A finished node's projection does not bring its NodeClaim back.
	if err := n.ProjectNodeClaim(ctx, NodeClaimProjection{Claim: claim, Phase: "Terminated", Transitions: transitions("Terminated")}); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(v1.NodeClaimResource).Get(ctx, claim.Name, metav1.GetOptions{}); err == nil {
		t.Error("a Terminated node's projection created its NodeClaim again")
	}
}

func TestNodeClaimsDoNothingWithoutTheCRD(t *testing.T) {
	n := &NodeClaims{}
	if err := n.ProjectNodeClaim(context.Background(), NodeClaimProjection{Claim: Claim{Name: "x"}, Phase: "Launching"}); err != nil {
		t.Error(err)
	}
	if err := n.ReleaseNodeClaim(context.Background(), "x"); err != nil {
		t.Error(err)
	}
}

// Disruption passes read the NodeClaims from the worker's cache: only this worker's are
// written, the cached objects are left as they were, and a write over a newer NodeClaim than
// the cached one conflicts and is reported as not written, for the next full pass.
func TestDisruptionConditionsFromTheCache(t *testing.T) {
	n, dyn, _ := newNodeClaims(t)
	ctx := context.Background()
	api := dyn.Resource(v1.NodeClaimResource)
	for _, c := range []struct {
		name    string
		managed bool
	}{{"ours", true}, {"karpenters", false}} {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": v1.SchemeGroupVersion.String(), "kind": v1.KindNodeClaim,
			"metadata": map[string]any{"name": c.name, "uid": c.name + "-uid", "resourceVersion": "1"},
			"status":   map[string]any{"capacity": map[string]any{"cpu": "2"}},
		}}
		if c.managed {
			u.SetLabels(map[string]string{LabelManaged: "true"})
		}
		if _, err := api.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := api.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cached []*unstructured.Unstructured
	for i := range list.Items {
		cached = append(cached, &list.Items[i])
	}
	before := make([]*unstructured.Unstructured, len(cached))
	for i, u := range cached {
		before[i] = u.DeepCopy()
	}
	synced := false
	n.CachedClaims = func() ([]*unstructured.Unstructured, error) {
		if !synced {
			return nil, errors.New("not synced")
		}
		return slices.Clone(cached), nil
	}
	states := map[string]ClaimDisruptionState{"ours": {Drifted: true}, "karpenters": {Drifted: true}}
	if _, err := n.setDisruptionConditions(ctx, states, t0); err == nil || !strings.Contains(err.Error(), "not synced") {
		t.Errorf("error %v with the cache not synced, want one saying so: the next full pass must try again", err)
	}
	synced = true
	uids, err := n.setDisruptionConditions(ctx, states, t0)
	if err != nil || len(uids) != 1 || uids["ours"] != "ours-uid" {
		t.Errorf("error %v, uids %v; want all written, and only our NodeClaim's uid", err, uids)
	}
	if ours := getNodeClaim(t, dyn, "ours"); !isTrue(ours, v1.ConditionDrifted) || ours.Status.Capacity.Cpu().String() != "2" {
		t.Errorf("our NodeClaim's status %+v, want Drifted and its capacity kept", ours.Status)
	}
	if theirs := getNodeClaim(t, dyn, "karpenters"); len(theirs.Status.Conditions) != 0 {
		t.Errorf("Karpenter's NodeClaim got conditions %+v", theirs.Status.Conditions)
	}
	for i, u := range cached {
		if !equality.Semantic.DeepEqual(u, before[i]) {
			t.Errorf("the cached %s was modified", u.GetName())
		}
	}
	// The cache still holds the version before the write above: the write says which version
	// it was made from, and the API server's conflict is reported as not written.
	var sentVersion string
	dyn.PrependReactor("update", "nodeclaims", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sentVersion = a.(k8stesting.UpdateAction).GetObject().(*unstructured.Unstructured).GetResourceVersion()
		return true, nil, apierrors.NewConflict(v1.NodeClaimResource.GroupResource(), "ours", errors.New("changed"))
	})
	states["ours"] = ClaimDisruptionState{Consolidatable: true}
	if _, err := n.setDisruptionConditions(ctx, states, t0); !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "NodeClaim ours") || sentVersion != "1" {
		t.Errorf("error %v from the cached version %q, want the conflict, naming the NodeClaim, from version 1", err, sentVersion)
	}
}

func isTrue(c v1.NodeClaim, typ string) bool {
	s, _ := conditionOf(c, typ)
	return s == metav1.ConditionTrue
}

func conditionOf(c v1.NodeClaim, typ string) (metav1.ConditionStatus, string) {
	for _, cond := range c.Status.Conditions {
		if cond.Type == typ {
			return cond.Status, cond.Reason
		}
	}
	return "", ""
}

func TestInterruptionEventsAreKarpenters(t *testing.T) {
	cases := []struct {
		reason, detail string
		want           string
	}{
		{"SpotInterruption", "", "Warning SpotInterrupted Spot interruption warning was triggered"},
		{"ScheduledChange", "", "Warning InstanceUnhealthy An unhealthy warning was triggered for the instance"},
		{"StateChange", "stopping", "Warning InstanceStopping Instance is stopping"},
		{"StateChange", "stopped", "Warning InstanceStopping Instance is stopping"},
		{"StateChange", "shutting-down", "Warning InstanceTerminating Instance is terminating"},
		{"StateChange", "terminated", "Warning InstanceTerminating Instance is terminating"},
	}
	for _, tc := range cases {
		t.Run(tc.reason+"/"+tc.detail, func(t *testing.T) {
			n, _, rec := newNodeClaims(t, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ip-1"}})
			ctx := context.Background()
			claim := Claim{Name: "default-abcde", NodePool: "default", NodeClassRef: &v1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: "default"}}
			p := NodeClaimProjection{Claim: claim, Phase: "Ready", Transitions: transitions("Launching", "Registering", "Initializing", "Ready"),
				InstanceID: "i-1", InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot", NodeName: "ip-1"}
			if err := n.ProjectNodeClaim(ctx, p); err != nil {
				t.Fatal(err)
			}
			p.Disruption = &ProjectedDisruption{Source: "Interruption", Reason: tc.reason, Detail: tc.detail, At: t0}
			if err := n.ProjectNodeClaim(ctx, p); err != nil {
				t.Fatal(err)
			}
			want := []string{tc.want, tc.want,
				"Warning TerminatingOnInterruption Interruption triggered termination for the NodeClaim",
				"Warning TerminatingOnInterruption Interruption triggered termination for the Node"}
			for i, w := range want {
				select {
				case got := <-rec.Events:
					if got != w {
						t.Errorf("event %d = %q, want %q", i, got, w)
					}
				default:
					t.Fatalf("event %d missing, want %q", i, w)
				}
			}
			// The same projection again publishes nothing new.
			if err := n.ProjectNodeClaim(ctx, p); err != nil {
				t.Fatal(err)
			}
			if len(rec.Events) != 0 {
				t.Errorf("a repeated projection published %q", <-rec.Events)
			}
		})
	}
}

// A launch's pods are nominated from the worker's cache when it has them, and read from the
// API server when it does not yet.
func TestNominateReadsPodsFromTheCacheFirst(t *testing.T) {
	cachedPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cached", Namespace: "ns", UID: "cached-uid"}}
	apiPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "ns", UID: "new-uid"}}
	n, _, rec := newNodeClaims(t, cachedPod, apiPod)
	n.CachedPod = func(ns, name string) (*corev1.Pod, bool) {
		if ns+"/"+name == "ns/cached" {
			return cachedPod, true
		}
		return nil, false
	}
	kube := n.Kube.(*fake.Clientset)
	n.nominate(context.Background(), &unstructured.Unstructured{}, Claim{Name: "default-abcde", Pods: []string{"ns/cached", "ns/new", "ns/gone"}})

	var gets []string
	for _, a := range kube.Actions() {
		if g, ok := a.(k8stesting.GetAction); ok {
			gets = append(gets, g.GetNamespace()+"/"+g.GetName())
		}
	}
	if !slices.Equal(gets, []string{"ns/new", "ns/gone"}) {
		t.Errorf("pods read from the API server: %q, want the two the cache lacks", gets)
	}
	if got := len(rec.Events); got != 2 {
		t.Errorf("%d Nominated events, want 2 (the pod that is gone gets none)", got)
	}
}

// Nominated events are paced across launches, as Karpenter's: a burst, then none until the
// pace allows more, and the pods beyond it are not even read.
func TestNominationsArePacedAcrossLaunches(t *testing.T) {
	var pods []runtime.Object
	var keys []string
	for i := range NominationBurst + 5 {
		name := fmt.Sprintf("web-%d", i)
		pods = append(pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name)}})
		keys = append(keys, "ns/"+name)
	}
	n, _, rec := newNodeClaims(t, pods...)
	clock := testingclock.NewFakeClock(time.Now())
	n.Nominations = flowcontrol.NewTokenBucketRateLimiterWithClock(NominationRate, NominationBurst, clock)
	kube := n.Kube.(*fake.Clientset)

	n.nominate(context.Background(), &unstructured.Unstructured{}, Claim{Name: "default-aaaaa", Pods: keys[:NominationBurst-2]})
	n.nominate(context.Background(), &unstructured.Unstructured{}, Claim{Name: "default-bbbbb", Pods: keys[NominationBurst-2:]})
	if got := len(rec.Events); got != NominationBurst {
		t.Errorf("%d Nominated events from a burst, want %d", got, NominationBurst)
	}
	if got := len(kube.Actions()); got != NominationBurst {
		t.Errorf("%d pods read, want only the %d nominated", got, NominationBurst)
	}

	clock.Step(time.Second)
	n.nominate(context.Background(), &unstructured.Unstructured{}, Claim{Name: "default-ccccc", Pods: keys})
	if got := len(rec.Events); got != NominationBurst+NominationRate {
		t.Errorf("%d Nominated events a second later, want %d more", got-NominationBurst, NominationRate)
	}
}

// While a node launches, ProjectNodeClaim writes from the NodeClaim as it last wrote it: a
// new claim is created outright, and the API server is read only after a conflict (another
// writer), for a NodeClaim another worker wrote, and once the node is Ready.
func TestProjectNodeClaimReadsOnlyWhatItDidNotWrite(t *testing.T) {
	claim := Claim{Name: "default-abcde", NodePool: "default", Pods: []string{"ns/web-1"}, InstanceTypes: []string{"m5.large"}}
	launching := NodeClaimProjection{Claim: claim, Phase: "Launching", Transitions: transitions("Launching")}
	registering := NodeClaimProjection{Claim: claim, Phase: "Registering", Transitions: transitions("Launching", "Registering"),
		InstanceID: "i-1", InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "on-demand"}
	ready := registering
	ready.Phase, ready.Transitions, ready.NodeName = "Ready", transitions("Launching", "Registering", "Initializing", "Ready"), "ip-1"
	drifted := ready
	drifted.Disruption = &ProjectedDisruption{Source: "Disruption", Reason: "Drifted", At: t0}
	tests := []struct {
		name      string
		before    []NodeClaimProjection // written first, by this worker
		byOther   bool                  // or by another worker
		conflicts int                   // updates refused as conflicts, first ones first
		p         NodeClaimProjection
		want      []string
	}{
		{name: "a new claim is created without a read, its status left for the launch's result", p: launching, want: []string{"create"}},
		{name: "a launching claim is written from what was last written", before: []NodeClaimProjection{launching}, p: registering,
			want: []string{"update", "update/status"}},
		{name: "a conflict with another writer reads the claim again", before: []NodeClaimProjection{launching}, conflicts: 1, p: registering,
			want: []string{"update", "get", "update", "update/status"}},
		{name: "a claim another worker wrote is read", before: []NodeClaimProjection{launching}, byOther: true, p: registering,
			want: []string{"get", "update", "update/status"}},
		{name: "a claim another worker created is read when the create finds it", before: []NodeClaimProjection{launching}, byOther: true, p: launching,
			want: []string{"create", "get"}},
		{name: "once Ready the claim is read again", before: []NodeClaimProjection{launching, ready}, p: drifted,
			want: []string{"get", "update/status"}},
		{name: "a finished node's claim is read, never created", p: NodeClaimProjection{Claim: claim, Phase: "Terminated", Transitions: transitions("Terminated")},
			want: []string{"get"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			n, dyn, _ := newNodeClaims(t)
			writer := n
			if tt.byOther {
				writer = &NodeClaims{Client: dyn, Kube: n.Kube, Recorder: n.Recorder, InstanceTypeLabels: n.InstanceTypeLabels}
			}
			for _, p := range tt.before {
				if err := writer.ProjectNodeClaim(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			n.CachedNode = func(name string) (*corev1.Node, bool) {
				return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{
					Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}, true
			}
			conflicts := tt.conflicts
			dyn.PrependReactor("update", "nodeclaims", func(k8stesting.Action) (bool, runtime.Object, error) {
				if conflicts == 0 {
					return false, nil, nil
				}
				conflicts--
				return true, nil, apierrors.NewConflict(v1.NodeClaimResource.GroupResource(), claim.Name, errors.New("the object has been modified"))
			})
			dyn.ClearActions()
			n.Kube.(*fake.Clientset).ClearActions()
			if err := n.ProjectNodeClaim(ctx, tt.p); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range dyn.Actions() {
				got = append(got, strings.TrimSuffix(a.GetVerb()+"/"+a.GetSubresource(), "/"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("requests %v, want %v", got, tt.want)
			}
			for _, a := range n.Kube.(*fake.Clientset).Actions() {
				if a.GetResource().Resource == "nodes" {
					t.Errorf("read the Node from the API server (%s), want its capacity from the cache", a.GetVerb())
				}
			}
			if u, err := dyn.Tracker().Get(v1.NodeClaimResource, "", claim.Name); err == nil && tt.p.NodeName != "" {
				var c v1.NodeClaim
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.(*unstructured.Unstructured).Object, &c); err != nil || c.Status.Capacity.Cpu().String() != "2" {
					t.Errorf("NodeClaim capacity %v (%v), want the cached Node's cpu 2", c.Status.Capacity, err)
				}
			}
		})
	}
}
