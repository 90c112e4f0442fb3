package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodewright/nodewright/starter"
	"github.com/nodewright/nodewright/worker/temporalconn"
)

// adviseCleanManifest follows every practice advise checks: a limited on-demand pool and a
// Deployment of two replicas with requests, memory limit equal to request, and a
// PodDisruptionBudget that lets one go at a time.
const adviseCleanManifest = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: advise-good
spec:
  weight: 7
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
  limits: {cpu: "100", memory: 400Gi}
---
` + adviseDeployment + `
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: advise}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
`

// adviseDeployment is a Deployment of two replicas with requests and its memory limit equal
// to its request.
const adviseDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: advise}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: app
          image: pause
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 128Mi}`

// adviseSeededManifest adds three bad practices: a pool without limits (at its own weight,
// so it overlaps nothing), a bare pod without requests, and a Deployment of three replicas
// without a PodDisruptionBudget.
func adviseSeededManifest() string {
	return `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: advise-open
spec:
  weight: 3
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
---
apiVersion: v1
kind: Pod
metadata: {name: no-requests, namespace: advise}
spec:
  containers:
    - {name: app, image: pause}
---
` + strings.NewReplacer("name: web", "name: three-replicas", "app: web", "app: three-replicas", "replicas: 2", "replicas: 3").Replace(adviseDeployment)
}

// adviseReport is `starter advise -o json` as the test reads it.
type adviseReport struct {
	Findings []struct {
		Rule     string `json:"rule"`
		Severity string `json:"severity"`
		Objects  []struct {
			Kind      string `json:"kind"`
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"objects"`
	} `json:"findings"`
}

// keys names each finding "severity rule kind namespace/name, ...".
func (r adviseReport) keys() []string {
	var out []string
	for _, f := range r.Findings {
		var objs []string
		for _, o := range f.Objects {
			if o.Namespace == "" {
				objs = append(objs, o.Kind+" "+o.Name)
			} else {
				objs = append(objs, fmt.Sprintf("%s %s/%s", o.Kind, o.Namespace, o.Name))
			}
		}
		out = append(out, f.Severity+" "+f.Rule+" "+strings.Join(objs, ", "))
	}
	return out
}

// runAdvise runs `starter advise --from-cluster -o json` against the lab as its admin and
// returns the exit code and the report.
func runAdvise(ctx context.Context, t *testing.T) (int, adviseReport) {
	t.Helper()
	code, stdout, stderr := adviseCLI(ctx, "-o", "json")
	var r adviseReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("starter advise exited %d without a JSON report: %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
	}
	return code, r
}

func TestAdviseFindsExactlyTheThreeSeededBadPractices(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	if _, err := lab.Kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "advise"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace advise: %v", err)
	}
	t.Cleanup(func() {
		_ = lab.Kube.Client.CoreV1().Namespaces().Delete(context.Background(), "advise", metav1.DeleteOptions{})
		// The lab runs no namespace controller and the garbage collector deletes the
		// Deployments' pods after the Deployments: wait for them, so that the next test does
		// not meet them pending.
		waitNoPods(t, "advise")
	})
	applyManifest(t, adviseCleanManifest)
	t.Cleanup(func() { deleteManifest(t, adviseCleanManifest) })

	code, baseline := runAdvise(ctx, t)
	t.Logf("the lab with the clean objects: exit %d, %d findings %q", code, len(baseline.Findings), baseline.keys())
	for _, k := range baseline.keys() {
		if strings.Contains(k, "advise") {
			t.Errorf("the clean objects raised %q", k)
		}
	}

	applyManifest(t, adviseSeededManifest())
	t.Cleanup(func() { deleteManifest(t, adviseSeededManifest()) })
	waitForPods(ctx, t, "advise", "app=three-replicas", 3)

	code, seeded := runAdvise(ctx, t)
	added := slices.DeleteFunc(seeded.keys(), func(k string) bool { return slices.Contains(baseline.keys(), k) })
	want := []string{
		"error pod-requests Pod advise/no-requests",
		"warning nodepool-limits NodePool advise-open",
		"warning pdb-missing Deployment advise/three-replicas",
	}
	if !slices.Equal(added, want) {
		t.Errorf("advise found, beyond the lab's own findings,\n %q\nwant exactly\n %q", added, want)
	}
	if code != 1 {
		t.Errorf("starter advise exited %d with a finding of severity error, want 1", code)
	}
	_, table, _ := adviseCLI(ctx)
	t.Logf("starter advise --from-cluster:\n%s", table.String())
}

// adviseCLI runs `starter advise --from-cluster` against the lab as its admin.
func adviseCLI(ctx context.Context, args ...string) (code int, stdout, stderr bytes.Buffer) {
	args = append([]string{"advise", "--from-cluster", "--kubeconfig", lab.Kube.AdminKubeconfig}, args...)
	code = starter.Main(ctx, "test", args, &stdout, &stderr, temporalconn.MapEnv(nil))
	return code, stdout, stderr
}

// waitNoPods deletes what pods are left in the namespace and waits until none is.
func waitNoPods(t *testing.T, ns string) {
	t.Helper()
	pods := lab.Kube.Client.CoreV1().Pods(ns)
	// In a clean-up t.Context() is already cancelled.
	if err := pods.DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: new(int64)}, metav1.ListOptions{}); err != nil {
		t.Errorf("delete the pods left in %s: %v", ns, err)
	}
	if last, ok := pollPods(t, time.Minute, ns, func(*corev1.Pod) bool { return true }); !ok {
		t.Errorf("pods left in %s after a minute: %s", ns, last)
	}
}

// pollPods lists the namespace's pods ("" for all) every 200 ms until none matches, or the
// limit passes; it returns how things last stood and whether none matched. It works in
// clean-ups too, where t.Context() is already cancelled.
func pollPods(t *testing.T, limit time.Duration, ns string, match func(*corev1.Pod) bool) (string, bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), limit)
	defer cancel()
	for {
		var left []string
		list, err := lab.Kube.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err == nil {
			for i := range list.Items {
				if match(&list.Items[i]) {
					left = append(left, list.Items[i].Namespace+"/"+list.Items[i].Name)
				}
			}
			if len(left) == 0 {
				return "", true
			}
		}
		last := fmt.Sprintf("%q", left)
		if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return last, false
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitForPods waits until the selector matches n pods in the namespace, as the Deployment
// controller makes them.
func waitForPods(ctx context.Context, t *testing.T, ns, selector string, n int) {
	t.Helper()
	for {
		have := 0
		pods, err := lab.Kube.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil {
			have = len(pods.Items)
		}
		if have == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pods %s in %s: want %d, have %d (%v)", selector, ns, n, have, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
