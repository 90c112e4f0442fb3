package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/nodewright/nodewright/activities/market"
)

// A pass that would read what the last one read, before anything comes due with the clock,
// answers as it did without listing the cluster; a counted change, a market refresh, or the
// moment a node's consolidateAfter runs out make the next pass a full one, and a pass that
// found something to do is not remembered.
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
		{name: "nothing changed: the answer stands", at: 20 * time.Second},
		{name: "a change the watches counted", at: 21 * time.Second, change: func() { changes++ }, wantList: true},
		{name: "the market refreshed", at: 22 * time.Second, change: func() { planner.Market.(*market.Live).Refresh(context.Background()) }, wantList: true},
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
