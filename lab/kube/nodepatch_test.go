package kube

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/nodewright/nodewright/activities"
)

// requestLog records the method and path of each request a client makes.
type requestLog struct {
	mu   sync.Mutex
	seen []string
	next http.RoundTripper
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.seen = append(l.seen, r.Method+" "+r.URL.Path)
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.seen
	l.seen = nil
	return out
}

// The registration sync writes its change to the real API server as a guarded JSON patch,
// with the worker's ClusterRole: a status or a taint written since the worker cached the Node
// does not refuse it; a taint put ahead of the one it removes, or a first annotation, does,
// after which the sync reads the Node; what the other controller wrote stays either way.
func TestSyncNodePatchesWhatChangedSinceTheCacheOnlyWhenItMayNot(t *testing.T) {
	ctx := context.Background()
	admin := testCluster.Client
	unregistered := corev1.Taint{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute}
	other := corev1.Taint{Key: "example.com/other", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name string
		// since changes the Node after the worker cached it.
		since     func(n *corev1.Node) error
		want      []string // the worker's writes and reads of the Node
		wantTaint []string // keys, besides the API server's not-ready taint
		wantNote  string   // an annotation that must survive
		// otherFirst: the other controller's taint comes before the API server's.
		otherFirst bool
	}{
		{name: "a status written since", since: func(n *corev1.Node) error {
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}}
			_, err := admin.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
			return err
		}, want: []string{"PATCH"}},
		{name: "a taint added since", since: func(n *corev1.Node) error {
			n.Spec.Taints = append(n.Spec.Taints, other)
			_, err := admin.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			return err
		}, want: []string{"PATCH"}, wantTaint: []string{other.Key}},
		{name: "a taint put ahead of the one to remove since", since: func(n *corev1.Node) error {
			n.Spec.Taints = append([]corev1.Taint{other}, n.Spec.Taints...)
			_, err := admin.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			return err
		}, want: []string{"PATCH", "GET", "PUT"}, wantTaint: []string{other.Key}, otherFirst: true},
		{name: "the first annotation added since", since: func(n *corev1.Node) error {
			n.Annotations = map[string]string{"node.alpha.kubernetes.io/ttl": "0"}
			_, err := admin.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			return err
		}, want: []string{"PATCH", "GET", "PUT"}, wantNote: "node.alpha.kubernetes.io/ttl"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("patch-%d", i)
			cached, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
				Spec:       corev1.NodeSpec{Taints: []corev1.Taint{unregistered}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = admin.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })

			cfg, err := clientcmd.BuildConfigFromFlags("", testCluster.WorkerKubeconfig)
			if err != nil {
				t.Fatal(err)
			}
			log := &requestLog{}
			cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { log.next = rt; return log })
			worker, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			factory := activities.NewInformerFactory(worker)
			nodes := activities.NewNodeCache(factory)
			runCtx, stop := context.WithCancel(ctx)
			defer stop()
			go func() { _ = nodes.Run(runCtx) }()
			for !nodes.Synced() {
				time.Sleep(10 * time.Millisecond)
			}
			if err := tt.since(cached.DeepCopy()); err != nil {
				t.Fatal(err)
			}
			// The cache is put back as it was once its watch has heard of the change, and
			// hears no more.
			for {
				if n, ok := nodes.Get(name); ok && n.ResourceVersion != cached.ResourceVersion {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			stop()
			if err := factory.Core().V1().Nodes().Informer().GetStore().Update(cached); err != nil {
				t.Fatal(err)
			}
			log.take()

			k := &activities.Kube{Client: worker, Nodes: nodes, TerminationFinalizer: true}
			req := activities.SyncRequest{NodeName: name, Labels: map[string]string{"karpenter.sh/nodepool": "default", "team": "web"},
				Annotations: map[string]string{"karpenter.sh/nodepool-hash": "1"}}
			if err := k.SyncNode(ctx, req); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range log.take() {
				if r == "GET /api/v1/nodes/"+name || r == "PUT /api/v1/nodes/"+name || r == "PATCH /api/v1/nodes/"+name {
					got = append(got, r[:len(r)-len(" /api/v1/nodes/"+name)])
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("the worker's requests for the Node: %v, want %v", got, tt.want)
			}
			n, err := admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if n.Labels["karpenter.sh/nodepool"] != "default" || n.Labels["team"] != "web" || n.Labels["kubernetes.io/hostname"] != name {
				t.Errorf("labels %v, want the kubelet's and the sync's", n.Labels)
			}
			if !slices.Equal(n.Finalizers, []string{activities.FinalizerTermination}) {
				t.Errorf("finalizers %v, want %s", n.Finalizers, activities.FinalizerTermination)
			}
			var taints []string
			for _, taint := range n.Spec.Taints {
				taints = append(taints, taint.Key)
			}
			// The API server taints a Node not-ready when it is created (TaintNodesByCondition).
			want := append([]string{corev1.TaintNodeNotReady}, tt.wantTaint...)
			if tt.otherFirst {
				want = append(tt.wantTaint, corev1.TaintNodeNotReady)
			}
			if !slices.Equal(taints, want) {
				t.Errorf("taints %v, want %v", taints, want)
			}
			if n.Annotations["karpenter.sh/nodepool-hash"] != "1" {
				t.Errorf("annotations %v, want the sync's", n.Annotations)
			}
			if _, ok := n.Annotations[tt.wantNote]; tt.wantNote != "" && !ok {
				t.Errorf("annotations %v lost %s", n.Annotations, tt.wantNote)
			}
		})
	}
}
