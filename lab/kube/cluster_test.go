package kube

import (
	"context"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// One control plane serves the package: it takes seconds to start and Kubernetes keeps
// process-wide state that does not expect a second one.
var testCluster *Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithCancel(context.Background())
	dir, err := os.MkdirTemp("", "nodewright-kube-test")
	if err != nil {
		panic(err)
	}
	testCluster, err = Start(ctx, Options{Dir: dir})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	testCluster.Stop()
	cancel()
	os.RemoveAll(dir)
	os.Exit(code)
}

func clientFromKubeconfig(t *testing.T, path string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("load kubeconfig %s: %v", path, err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client for %s: %v", path, err)
	}
	return c
}

func TestAdminKubeconfigCanDoAnything(t *testing.T) {
	client := clientFromKubeconfig(t, testCluster.AdminKubeconfig)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "admin-check"}}
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("admin could not create a namespace: %v", err)
	}
}

func TestWorkerKubeconfigHasOnlyItsRBAC(t *testing.T) {
	ctx := context.Background()
	client := clientFromKubeconfig(t, testCluster.WorkerKubeconfig)
	if _, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("worker cannot list pods: %v", err)
	}
	if _, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("worker cannot list nodes: %v", err)
	}
	_, err := client.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("worker listing secrets: got %v, want Forbidden", err)
	}
	_, err = client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "nope"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("worker creating a namespace: got %v, want Forbidden", err)
	}
}

// The worker's role grants what its code calls and nothing more: a verb nothing uses is one
// a stolen token could still use.
func TestWorkerMayDoOnlyWhatItsCodeCalls(t *testing.T) {
	client := clientFromKubeconfig(t, testCluster.WorkerKubeconfig)
	tests := []struct {
		verb, group, resource, subresource, name string
		allowed                                  bool
	}{
		// What the worker does.
		{verb: "watch", resource: "nodes", allowed: true},
		{verb: "update", resource: "nodes", allowed: true},
		{verb: "patch", resource: "nodes", allowed: true}, // the registration sync, the initialized label
		{verb: "delete", resource: "nodes", allowed: true},
		{verb: "delete", resource: "pods", allowed: true},
		{verb: "create", resource: "pods", subresource: "eviction", allowed: true},
		{verb: "create", group: "karpenter.sh", resource: "nodeclaims", allowed: true},
		{verb: "update", group: "karpenter.sh", resource: "nodeclaims", subresource: "status", allowed: true},
		{verb: "update", group: "karpenter.k8s.aws", resource: "ec2nodeclasses", allowed: true},
		{verb: "update", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "nodepools.karpenter.sh", allowed: true},
		{verb: "patch", group: "events.k8s.io", resource: "events", allowed: true},
		{verb: "list", resource: "persistentvolumes", allowed: true},
		{verb: "watch", group: "policy", resource: "poddisruptionbudgets", allowed: true}, // the cluster cache
		// Grants nothing in the worker uses.
		{verb: "patch", group: "karpenter.sh", resource: "nodeclaims"},
		{verb: "patch", group: "karpenter.sh", resource: "nodepools", subresource: "status"},
		{verb: "get", group: "karpenter.sh", resource: "nodepools"},
		{verb: "patch", group: "karpenter.k8s.aws", resource: "ec2nodeclasses"},
		{verb: "list", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
		{verb: "update", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "nodeclaims.karpenter.sh"},
		{verb: "update", group: "events.k8s.io", resource: "events"},
		{verb: "watch", resource: "namespaces"},
		{verb: "get", resource: "persistentvolumes"},
		{verb: "watch", group: "apps", resource: "daemonsets"},
		{verb: "list", group: "storage.k8s.io", resource: "csinodes"},
	}
	for _, tt := range tests {
		attrs := &authorizationv1.ResourceAttributes{Verb: tt.verb, Group: tt.group, Resource: tt.resource, Subresource: tt.subresource, Name: tt.name}
		review, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(),
			&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: attrs}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("ask whether the worker may %s %s: %v", tt.verb, tt.resource, err)
		}
		if review.Status.Allowed != tt.allowed {
			t.Errorf("worker may %s %s/%s %s %s: %v, want %v", tt.verb, tt.group, tt.resource, tt.subresource, tt.name, review.Status.Allowed, tt.allowed)
		}
	}
}

// A Deployment becomes pods through the in-process controllers, and the real kube-scheduler
// reports them Unschedulable while no node exists, then binds them once a Ready node with room
// appears.
func TestDeploymentPodsAreScheduledByKubeScheduler(t *testing.T) {
	ctx := context.Background()
	client := testCluster.Client
	labels := map[string]string{"app": "sched-check"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "sched-check", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.k8s.io/pause:3.10",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")}},
				}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	waitPods(t, client, "app=sched-check", func(p corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return true
			}
		}
		return false
	}, "reported Unschedulable")

	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "hand-made", Labels: map[string]string{"kubernetes.io/hostname": "hand-made"}},
		Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}},
		},
	}
	created, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node: %v", err)
	}
	created.Status = node.Status
	if created, err = client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("node status: %v", err)
	}
	created.Spec.Taints = nil // the not-ready taint admission added on create
	if _, err := client.CoreV1().Nodes().Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("clear node taints: %v", err)
	}
	waitPods(t, client, "app=sched-check", func(p corev1.Pod) bool { return p.Spec.NodeName == "hand-made" }, "bound to hand-made")
}

func waitPods(t *testing.T, client kubernetes.Interface, selector string, ok func(corev1.Pod) bool, what string) {
	t.Helper()
	var last []corev1.Pod
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err
		}
		last = pods.Items
		if len(pods.Items) == 0 {
			return false, nil
		}
		for _, p := range pods.Items {
			if !ok(p) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("pods %s not all %s: %v (pods: %d)", selector, what, err, len(last))
	}
}
