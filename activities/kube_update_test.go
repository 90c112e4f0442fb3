package activities

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// A node update rides out the API server's passing failures: one lost request among a
// decision's forty candidates failed the whole TaintCandidates, and the nodes kept the
// disrupted taint (found by `make chaos`, R4). A refusal that will not change is not retried.
func TestNodeUpdatesRideOutPassingAPIFailures(t *testing.T) {
	nodes := schema.GroupResource{Resource: "nodes"}
	reset := &url.Error{Op: "Get", URL: "https://api/api/v1/nodes/n1", Err: syscall.ECONNRESET}
	tests := []struct {
		name     string
		verb     string
		failures []error
		wantErr  bool
	}{
		{name: "a read answered 500", verb: "get", failures: []error{apierrors.NewInternalError(errors.New("etcd hiccup"))}},
		{name: "a read answered 429 twice", verb: "get", failures: []error{apierrors.NewTooManyRequests("slow down", 0), apierrors.NewTooManyRequests("slow down", 0)}},
		{name: "a read whose connection was reset", verb: "get", failures: []error{reset}},
		{name: "a write answered 503", verb: "update", failures: []error{apierrors.NewServiceUnavailable("overloaded")}},
		{name: "a write in conflict", verb: "update", failures: []error{apierrors.NewConflict(nodes, "n1", errors.New("modified"))}},
		{name: "a write refused by RBAC is not retried", verb: "update", failures: []error{apierrors.NewForbidden(nodes, "n1", errors.New("no")), nil}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(node("n1"))
			left := slices.Clone(tt.failures)
			client.PrependReactor(tt.verb, "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
				if len(left) == 0 {
					return false, nil, nil
				}
				err := left[0]
				left = left[1:]
				return err != nil, nil, err
			})
			_, err := runActivity(t, (&Kube{Client: client}).TaintNode, "n1", DisruptedTaint())
			if tt.wantErr {
				if err == nil {
					t.Fatal("tainted the node after a refusal that a retry would not change")
				}
				if n := countActions(client, "update", "nodes"); n != 1 {
					t.Errorf("%d updates after a permanent refusal, want 1", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("taint: %v", err)
			}
			got, _ := client.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
			disrupted := DisruptedTaint()
			if !slices.ContainsFunc(got.Spec.Taints, func(t corev1.Taint) bool { return t.MatchTaint(&disrupted) }) {
				t.Errorf("node taints %v lack %s", got.Spec.Taints, disrupted.ToString())
			}
		})
	}
}
