package activities

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/nodewright/nodewright/activities/market"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// A pass that would read what the two full passes before it read, before anything comes due
// with the clock, answers as they did without listing the cluster; a counted change, a
// market refresh, a NodePool's annotation, or the moment a node's consolidateAfter runs out
// make the next pass a full one, and a pass that found something to do is not remembered.
func TestDisruptionPassesAtRestListNothing(t *testing.T) {
	api := spotMarket(0.030)
	pool := strings.Replace(spotPool(t), "consolidateAfter: 0s", "consolidateAfter: 30s", 1)
	planner := newTestPlannerFor(t, pool, api)
	client := planner.Kube.(*fake.Clientset)
	ready := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	empty := node("spot-1", ours(), launchedAs("m5.large", "us-east-1a", "spot"), withAllocatable("2", "7Gi", "29"))
	empty.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(ready)}}
	if err := client.Tracker().Add(empty); err != nil {
		t.Fatal(err)
	}
	annotate := func(key, value string) {
		pools := planner.Pools.(StaticNodePools)
		pools[0].Annotations = map[string]string{key: value}
	}
	var changes uint64
	var now time.Time
	d := &Disruption{Planner: planner, PodEvents: &PodEvents{}, Changes: func() uint64 { return changes }, now: func() time.Time { return now }}

	steps := []struct {
		name        string
		at          time.Duration // after the node became Ready
		change      func()
		wantList    bool
		wantCommand bool
	}{
		{name: "the first pass lists; the empty node waits for consolidateAfter", at: 10 * time.Second, wantList: true},
		{name: "a second full pass must read the same before the answer is kept", at: 15 * time.Second, wantList: true},
		{name: "nothing changed: the answer stands", at: 20 * time.Second},
		{name: "a change the watches counted", at: 21 * time.Second, change: func() { changes++ }, wantList: true},
		{name: "the pass after it, too", at: 22 * time.Second, wantList: true},
		{name: "at rest again", at: 23 * time.Second},
		{name: "the market refreshed", at: 24 * time.Second, change: func() { planner.Market.(*market.Live).Refresh(context.Background()) }, wantList: true},
		{name: "read the same twice", at: 25 * time.Second, wantList: true},
		{name: "at rest once more", at: 26 * time.Second},
		{name: "a NodePool's annotation changed", at: 27 * time.Second, change: func() { annotate("nodewright.io/max-hourly-cost", "10") }, wantList: true},
		{name: "and read the same twice", at: 28 * time.Second, wantList: true},
		{name: "still nothing changed", at: 29 * time.Second},
		{name: "consolidateAfter ran out: the node goes", at: 31 * time.Second, wantList: true, wantCommand: true},
		{name: "a pass that acted is not remembered", at: 32 * time.Second, wantList: true, wantCommand: true},
	}
	for _, s := range steps {
		now = ready.Add(s.at)
		if s.change != nil {
			s.change()
		}
		before := countActions(client, "list", "pods")
		decision, err := d.FindDisruption(context.Background())
		if err != nil {
			t.Fatalf("%s: find disruption: %v", s.name, err)
		}
		if listed := countActions(client, "list", "pods") > before; listed != s.wantList {
			t.Errorf("%s: listed pods %v, want %v", s.name, listed, s.wantList)
		}
		if got := decision.Command != nil; got != s.wantCommand {
			t.Errorf("%s: command %+v, want one: %v (skipped %v)", s.name, decision.Command, s.wantCommand, decision.Skipped)
		}
		if !s.wantCommand && decision.Skipped["spot-1"] == "" {
			t.Errorf("%s: no reason given for passing spot-1 over: %v", s.name, decision.Skipped)
		}
	}
}

// A pass whose NodeClaim conditions could not all be written is not answered again from
// memory: the next full pass writes them.
func TestDisruptionPassesWithFailedWritesAreNotKept(t *testing.T) {
	planner := newTestPlannerFor(t, spotPool(t), spotMarket(0.030))
	client := planner.Kube.(*fake.Clientset)
	if err := client.Tracker().Add(node("spot-1", ours(), launchedAs("m5.large", "us-east-1a", "spot"), withAllocatable("2", "7Gi", "29"),
		withReady(corev1.ConditionTrue))); err != nil {
		t.Fatal(err)
	}
	if err := client.Tracker().Add(pod("web-1", onNode("spot-1"), requesting("1", "1Gi"))); err != nil {
		t.Fatal(err)
	}
	claims, dyn, _ := newNodeClaims(t)
	claim := &unstructured.Unstructured{}
	claim.SetAPIVersion(v1.SchemeGroupVersion.String())
	claim.SetKind(v1.KindNodeClaim)
	claim.SetName("claim-spot-1")
	claim.SetLabels(map[string]string{LabelManaged: "true"})
	if err := dyn.Tracker().Add(claim); err != nil {
		t.Fatal(err)
	}
	failing := true
	dyn.PrependReactor("update", "nodeclaims", func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		if a.GetSubresource() == "status" && failing {
			return true, nil, apierrors.NewConflict(v1.NodeClaimResource.GroupResource(), "claim-spot-1", errors.New("changed meanwhile"))
		}
		return false, nil, nil
	})
	d := &Disruption{Planner: planner, PodEvents: &PodEvents{}, NodeClaims: claims, Changes: func() uint64 { return 0 }}
	for i, want := range []struct {
		fail, list bool
	}{{fail: true, list: true}, {fail: true, list: true}, {fail: true, list: true}, {list: true}, {list: true}, {list: false}} {
		failing = want.fail
		before := countActions(client, "list", "pods")
		if _, err := d.FindDisruption(context.Background()); err != nil {
			t.Fatalf("pass %d: %v", i+1, err)
		}
		if listed := countActions(client, "list", "pods") > before; listed != want.list {
			t.Errorf("pass %d (writes failing: %v): listed pods %v, want %v", i+1, want.fail, listed, want.list)
		}
	}
}
