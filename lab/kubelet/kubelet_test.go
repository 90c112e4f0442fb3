package kubelet

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/cert"

	"github.com/nodewright/nodewright/lab/kube"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

var (
	testClient  kubernetes.Interface
	testKubelet *Kubelet
	testCluster Cluster // what user data must name to join the test cluster
)

func TestMain(m *testing.M) {
	ctx, cancel := context.WithCancel(context.Background())
	dir, err := os.MkdirTemp("", "nodewright-kubelet-test")
	if err != nil {
		panic(err)
	}
	cluster, err := kube.Start(ctx, kube.Options{Dir: dir})
	if err != nil {
		panic(err)
	}
	types, err := catalog.Load()
	if err != nil {
		panic(err)
	}
	testClient = cluster.Client
	testCluster = Cluster{Name: "kubelet-test", Endpoint: cluster.URL, CA: cluster.Admin.CAData, Admits: func(profile string) error {
		if profile != nodeProfile {
			return fmt.Errorf("instance profile %s's role has no access entry", profile)
		}
		return nil
	}}
	testKubelet = New(cluster.Client, types, Options{Cluster: testCluster})
	go testKubelet.Run(ctx)
	code := m.Run()
	cancel()
	cluster.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// nodeProfile is the instance profile whose role the test cluster admits.
const nodeProfile = "lab_0123456789abcdef"

func TestBootRegistersAReadyNodeWithKubeletLabels(t *testing.T) {
	ctx := context.Background()
	m := Machine{
		InstanceID: "i-0000000000000boot", Type: "m5.large", Zone: "us-east-1b", CapacityType: "spot",
		Hostname: "ip-10-0-0-1.ec2.internal", PrivateIP: "10.0.0.1", InstanceProfile: nodeProfile,
		UserData: al2023UserData(testCluster, `
    flags:
    - --node-labels="team=web,karpenter.sh/nodepool=default"
    - --register-with-taints=dedicated=web:NoSchedule`),
	}
	if err := testKubelet.Boot(ctx, m); err != nil {
		t.Fatalf("boot: %v", err)
	}
	node, err := testClient.CoreV1().Nodes().Get(ctx, m.Hostname, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("node %s not registered: %v", m.Hostname, err)
	}
	if got, want := node.Spec.ProviderID, "aws:///us-east-1b/i-0000000000000boot"; got != want {
		t.Errorf("providerID = %q, want %q", got, want)
	}
	wantLabels := map[string]string{
		"node.kubernetes.io/instance-type": "m5.large", "topology.kubernetes.io/zone": "us-east-1b",
		"topology.kubernetes.io/region": "us-east-1", "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux",
		"karpenter.sh/capacity-type": "spot", "team": "web", "karpenter.sh/nodepool": "default",
	}
	for k, v := range wantLabels {
		if node.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, node.Labels[k], v)
		}
	}
	if !isReady(node) {
		t.Errorf("node is not Ready: %+v", node.Status.Conditions)
	}
	if !slices.Contains(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}) {
		t.Errorf("addresses = %v, want InternalIP 10.0.0.1", node.Status.Addresses)
	}
	var keys []string
	for _, taint := range node.Spec.Taints {
		keys = append(keys, taint.Key)
	}
	if slices.Contains(keys, corev1.TaintNodeNotReady) || !slices.Contains(keys, "dedicated") {
		t.Errorf("taints = %v, want dedicated and no %s", keys, corev1.TaintNodeNotReady)
	}
	if got := node.Status.Allocatable.Cpu().String(); got != "1930m" {
		t.Errorf("allocatable cpu = %s, want Karpenter's 1930m for m5.large", got)
	}

	// Its heartbeat lease exists and each renewal moves it on, from the lease last written.
	leases := testClient.CoordinationV1().Leases("kube-node-lease")
	first, err := leases.Get(ctx, m.Hostname, metav1.GetOptions{})
	if err != nil || *first.Spec.HolderIdentity != m.Hostname {
		t.Fatalf("lease of %s: %v %+v", m.Hostname, err, first)
	}
	time.Sleep(time.Millisecond) // RenewTime has microseconds
	if err := testKubelet.renewLease(ctx, m.Hostname); err != nil {
		t.Fatalf("renew lease: %v", err)
	}
	renewed, err := leases.Get(ctx, m.Hostname, metav1.GetOptions{})
	if err != nil || !renewed.Spec.RenewTime.After(first.Spec.RenewTime.Time) {
		t.Errorf("renewed lease %v (%v), want a RenewTime after %v", renewed.Spec.RenewTime, err, first.Spec.RenewTime)
	}
}

// A GPU node registers with its GPUs at zero, as a kubelet does before its device plugin
// registers them, and offers them once it is Ready.
func TestBootRegistersDevicesAfterReady(t *testing.T) {
	ctx := context.Background()
	m := Machine{
		InstanceID: "i-00000000000000gpu", Type: "g4dn.xlarge", Zone: "us-east-1a", CapacityType: "on-demand",
		Hostname: "ip-10-0-0-30.ec2.internal", PrivateIP: "10.0.0.30", InstanceProfile: nodeProfile,
		UserData: al2023UserData(testCluster, ""),
	}
	w, err := testClient.CoreV1().Nodes().Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + m.Hostname})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := testKubelet.Boot(ctx, m); err != nil {
		t.Fatalf("boot: %v", err)
	}
	gpu := corev1.ResourceName("nvidia.com/gpu")
	registered := (<-w.ResultChan()).Object.(*corev1.Node)
	if q, ok := registered.Status.Allocatable[gpu]; !ok || !q.IsZero() || isReady(registered) {
		t.Errorf("registered with %s %v (present %t), Ready %t; want 0 and not Ready", gpu, q.String(), ok, isReady(registered))
	}
	node, err := testClient.CoreV1().Nodes().Get(ctx, m.Hostname, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if q := node.Status.Allocatable[gpu]; q.Value() != 1 || node.Status.Capacity.Name(gpu, resource.DecimalSI).Value() != 1 {
		t.Errorf("after boot %s allocatable %s, capacity %v; want the type's one GPU", gpu, q.String(), node.Status.Capacity[gpu])
	}
}

func TestBootRegistersWhatUserDataSays(t *testing.T) {
	tests := []struct {
		name, userData string
		wantLabels     map[string]string
		wantTaint      corev1.Taint
		wantPods       string
	}{
		{
			name: "AL2023 nodeadm", wantPods: "20",
			userData: al2023UserData(testCluster, `
    config:
      maxPods: 20
      registerWithTaints:
      - key: karpenter.sh/unregistered
        effect: NoExecute
    flags:
    - --node-labels="karpenter.sh/nodepool=batch,team=data"`),
			wantLabels: map[string]string{"karpenter.sh/nodepool": "batch", "team": "data"},
			wantTaint:  corev1.Taint{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute},
		},
		{
			name: "Bottlerocket", wantPods: "15",
			userData: fmt.Sprintf(`[settings.kubernetes]
cluster-name = %q
api-server = %q
cluster-certificate = %q
max-pods = 15

[settings.kubernetes.node-labels]
"karpenter.sh/nodepool" = "bottles"

[settings.kubernetes.node-taints]
dedicated = ["gpu:NoSchedule"]
`, testCluster.Name, testCluster.Endpoint, base64.StdEncoding.EncodeToString(testCluster.CA)),
			wantLabels: map[string]string{"karpenter.sh/nodepool": "bottles"},
			wantTaint:  corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := Machine{
				InstanceID: fmt.Sprintf("i-00000000000user%d", i), Type: "m5.large", Zone: "us-east-1a", CapacityType: "on-demand",
				Hostname: fmt.Sprintf("ip-10-0-1-%d.ec2.internal", i), UserData: tt.userData, InstanceProfile: nodeProfile,
			}
			if err := testKubelet.Boot(ctx, m); err != nil {
				t.Fatalf("boot: %v", err)
			}
			node, err := testClient.CoreV1().Nodes().Get(ctx, m.Hostname, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("node %s not registered: %v", m.Hostname, err)
			}
			for k, v := range tt.wantLabels {
				if node.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, node.Labels[k], v)
				}
			}
			if !slices.ContainsFunc(node.Spec.Taints, func(got corev1.Taint) bool { return got.MatchTaint(&tt.wantTaint) && got.Value == tt.wantTaint.Value }) {
				t.Errorf("taints = %v, want %v among them", node.Spec.Taints, tt.wantTaint)
			}
			for _, list := range []corev1.ResourceList{node.Status.Capacity, node.Status.Allocatable} {
				if got := list.Pods().String(); got != tt.wantPods {
					t.Errorf("pods = %s, want maxPods %s", got, tt.wantPods)
				}
			}
		})
	}
}

func TestBootRefusesMachinesThatWouldNotJoin(t *testing.T) {
	otherCA, _, err := cert.GenerateSelfSignedCertKey("other-ca", nil, nil)
	if err != nil {
		t.Fatalf("generate CA: %v", err)
	}
	elsewhere := testCluster
	elsewhere.CA = otherCA
	tests := []struct {
		name, userData, wantErr string
		profile                 string // "" is the admitted node profile, "-" none
	}{
		{name: "no user data", userData: "", wantErr: "instance has no user data: a node without bootstrap never joins"},
		{name: "user data for another cluster", userData: al2023UserData(Cluster{Name: "prod", Endpoint: testCluster.Endpoint, CA: testCluster.CA}, ""),
			wantErr: `names cluster "prod"`},
		{name: "user data trusting another CA", userData: al2023UserData(elsewhere, ""), wantErr: "not the lab cluster's CA"},
		{name: "a label the kubelet refuses", userData: al2023UserData(testCluster, "\n    flags:\n    - --node-labels=kubernetes.io/role=web"),
			wantErr: "unknown 'kubernetes.io' or 'k8s.io' labels"},
		{name: "no instance profile", userData: al2023UserData(testCluster, ""), profile: "-", wantErr: "no instance profile"},
		{name: "a profile whose role the cluster does not admit", userData: al2023UserData(testCluster, ""), profile: "strangers", wantErr: "no access entry"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := Machine{
				InstanceID: fmt.Sprintf("i-000000000refused%d", i), Type: "m5.large", Zone: "us-east-1a", CapacityType: "on-demand",
				Hostname: fmt.Sprintf("ip-10-0-2-%d.ec2.internal", i), UserData: tt.userData, InstanceProfile: tt.profile,
			}
			if tt.profile == "" {
				m.InstanceProfile = nodeProfile
			}
			if tt.profile == "-" {
				m.InstanceProfile = ""
			}
			err := testKubelet.Boot(ctx, m)
			if !IsRefused(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("boot error = %v, want a refusal containing %q", err, tt.wantErr)
			}
			if _, err := testClient.CoreV1().Nodes().Get(ctx, m.Hostname, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("node %s of a refused machine: got %v, want NotFound", m.Hostname, err)
			}
		})
	}
}

func TestPodsOnAManagedNodeRunAndTheirDeletionCompletes(t *testing.T) {
	ctx := context.Background()
	m := Machine{InstanceID: "i-00000000000000pod", Type: "c5.xlarge", Zone: "us-east-1a", CapacityType: "on-demand", Hostname: "ip-10-0-0-2.ec2.internal",
		UserData: al2023UserData(testCluster, ""), InstanceProfile: nodeProfile}
	if err := testKubelet.Boot(ctx, m); err != nil {
		t.Fatalf("boot: %v", err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "runner", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:   m.Hostname,
			Containers: []corev1.Container{{Name: "app", Image: "pause", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}},
		},
	}
	if _, err := testClient.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	waitFor(t, "pod runner Running", func(ctx context.Context) (bool, error) {
		p, err := testClient.CoreV1().Pods("default").Get(ctx, "runner", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	})
	// A graceful delete leaves the pod terminating until its kubelet confirms; the stand-in must.
	if err := testClient.CoreV1().Pods("default").Delete(ctx, "runner", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod: %v", err)
	}
	waitFor(t, "pod runner gone", func(ctx context.Context) (bool, error) {
		_, err := testClient.CoreV1().Pods("default").Get(ctx, "runner", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

func TestShutdownMakesTheNodeNotReadyAndRemovesItsPods(t *testing.T) {
	ctx := context.Background()
	m := Machine{InstanceID: "i-0000000000000down", Type: "c5.xlarge", Zone: "us-east-1c", CapacityType: "on-demand", Hostname: "ip-10-0-0-3.ec2.internal",
		UserData: al2023UserData(testCluster, ""), InstanceProfile: nodeProfile}
	if err := testKubelet.Boot(ctx, m); err != nil {
		t.Fatalf("boot: %v", err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "victim", Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: m.Hostname, Containers: []corev1.Container{{Name: "app", Image: "pause"}}},
	}
	if _, err := testClient.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	if err := testKubelet.Shutdown(ctx, m.InstanceID); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	node, err := testClient.CoreV1().Nodes().Get(ctx, m.Hostname, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("node should remain for Nodewright to delete: %v", err)
	}
	if isReady(node) {
		t.Error("node still Ready after its instance terminated")
	}
	if _, err := testClient.CoreV1().Pods("default").Get(ctx, "victim", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod victim on the dead node: got %v, want NotFound", err)
	}
}

// al2023UserData is nodeadm user data for cluster c as a launch template would carry it, with
// kubelet (YAML under spec.kubelet, indented four spaces) appended.
func al2023UserData(c Cluster, kubelet string) string {
	return fmt.Sprintf(`MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="//"

--//
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: %s
    apiServerEndpoint: %s
    certificateAuthority: %s
    cidr: 10.100.0.0/16
  kubelet:%s

--//--
`, c.Name, c.Endpoint, base64.StdEncoding.EncodeToString(c.CA), kubeletOrEmpty(kubelet))
}

func kubeletOrEmpty(kubelet string) string {
	if kubelet == "" {
		return " {}"
	}
	return kubelet
}

func isReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond wait.ConditionWithContextFunc) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
