package activities

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

func TestWaitNodesGone(t *testing.T) {
	tests := []struct {
		name string
		// deleteAfter deletes node a after that long; 0 never.
		deleteAfter time.Duration
		nodes       []string
		within      time.Duration
		enough      int
		wantLeft    int
		// wantAtLeast and wantUnder bound how long the wait took.
		wantAtLeast, wantUnder time.Duration
	}{
		{name: "nodes already gone end the wait at once", nodes: []string{"gone-1", "gone-2"}, within: 10 * time.Second,
			wantUnder: 5 * time.Second},
		{name: "a node deleted while waiting ends it", nodes: []string{"a", "gone-1"}, within: 10 * time.Second,
			deleteAfter: 300 * time.Millisecond, wantAtLeast: 300 * time.Millisecond, wantUnder: 5 * time.Second},
		{name: "a node that stays is counted once the time is up", nodes: []string{"a", "b", "gone-1"}, within: time.Second,
			wantLeft: 2, wantAtLeast: time.Second, wantUnder: 5 * time.Second},
		{name: "enough nodes gone end the wait though others stay", nodes: []string{"a", "b"}, enough: 1, within: 10 * time.Second,
			deleteAfter: 300 * time.Millisecond, wantLeft: 1, wantAtLeast: 300 * time.Millisecond, wantUnder: 5 * time.Second},
		{name: "fewer gone than enough keep it waiting", nodes: []string{"a", "b"}, enough: 2, within: time.Second,
			deleteAfter: 300 * time.Millisecond, wantLeft: 1, wantAtLeast: time.Second, wantUnder: 5 * time.Second},
	}
	// The worker reads its cache; the starter and tests without one, the API server.
	readers := map[string]func(t *testing.T, kube kubernetes.Interface) ClusterReader{
		"api": func(_ *testing.T, kube kubernetes.Interface) ClusterReader { return nil },
		"cache": func(t *testing.T, kube kubernetes.Interface) ClusterReader {
			factory := NewInformerFactory(kube)
			nodes := NewNodeCache(factory)
			c := NewClusterCache(factory, nodes)
			factory.Start(t.Context().Done())
			if !cache.WaitForCacheSync(t.Context().Done(), c.Synced) {
				t.Fatal("the cache did not sync")
			}
			return c
		},
	}
	for _, tt := range tests {
		for reader, newReader := range readers {
			t.Run(reader+"/"+tt.name, func(t *testing.T) {
				kube := fake.NewClientset(node("a"), node("b"))
				d := &Disruption{Planner: &Planner{Kube: kube, Cluster: newReader(t, kube)}}
				if tt.deleteAfter > 0 {
					time.AfterFunc(tt.deleteAfter, func() {
						_ = kube.CoreV1().Nodes().Delete(context.Background(), "a", metav1.DeleteOptions{})
					})
				}
				start := time.Now()
				left, err := d.WaitNodesGone(t.Context(), NodesGoneRequest{Nodes: tt.nodes, Within: tt.within, Enough: tt.enough})
				took := time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				if left != tt.wantLeft {
					t.Errorf("%d nodes left, want %d", left, tt.wantLeft)
				}
				if took < tt.wantAtLeast || took >= tt.wantUnder {
					t.Errorf("waited %s, want at least %s and under %s", took, tt.wantAtLeast, tt.wantUnder)
				}
			})
		}
	}
}
