package nodepools

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/yaml"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/apis/loader"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

const class = `apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
  role: NodeRole
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
`

func pool(name, extra string) string {
	return `apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: ` + name + `}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
` + extra
}

func object(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// run starts a controller over the objects.
func run(t *testing.T, objs ...runtime.Object) (*Controller, *dynamicfake.FakeDynamicClient, *events.FakeRecorder) {
	t.Helper()
	return runWith(t, nil, objs...)
}

// runWith starts a controller that resolves classes through network (nil: it does not).
func runWith(t *testing.T, network Resolver, objs ...runtime.Object) (*Controller, *dynamicfake.FakeDynamicClient, *events.FakeRecorder) {
	t.Helper()
	return runConfigured(t, func(c *Controller) {
		if network != nil {
			c.ResolveWith(network)
		}
	}, objs...)
}

// runConfigured starts a controller that configure has set up.
func runConfigured(t *testing.T, configure func(*Controller), objs ...runtime.Object) (*Controller, *dynamicfake.FakeDynamicClient, *events.FakeRecorder) {
	t.Helper()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		v1.NodePoolResource: "NodePoolList", v1.NodeClaimResource: "NodeClaimList", awsv1.EC2NodeClassResource: "EC2NodeClassList",
	}, objs...)
	ld, err := loader.New()
	if err != nil {
		t.Fatal(err)
	}
	rec := events.NewFakeRecorder(100)
	c := New(dyn, dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0), ld, rec, slog.New(slog.DiscardHandler), awsv1.Group)
	configure(c)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = c.Run(ctx) }()
	return c, dyn, rec
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func status(t *testing.T, dyn *dynamicfake.FakeDynamicClient, name string) v1.NodePoolStatus {
	t.Helper()
	u, err := dyn.Resource(v1.NodePoolResource).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := v1.NodePool{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
		t.Fatal(err)
	}
	return p.Status
}

func cond(s v1.NodePoolStatus, typ string) metav1.Condition { return conditionIn(s.Conditions, typ) }

// conditionIn is the condition of the type, the zero one when it is not set.
func conditionIn(conds []metav1.Condition, typ string) metav1.Condition {
	for _, c := range conds {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

func TestPoolsAreOfferedOnlyWhenReady(t *testing.T) {
	tests := []struct {
		name        string
		objects     []string
		pool        string
		wantReady   metav1.ConditionStatus
		wantReason  string
		wantInEvent string
	}{
		{name: "a valid pool naming an existing class is ready", objects: []string{class, pool("ok", "")}, pool: "ok",
			wantReady: metav1.ConditionTrue, wantReason: "Ready"},
		{name: "a pool whose class is missing waits for it", objects: []string{pool("orphan", "")}, pool: "orphan",
			wantReady: metav1.ConditionFalse, wantReason: "NodeClassNotReady", wantInEvent: "EC2NodeClass default does not exist"},
		{name: "a static pool is not served yet", objects: []string{class, pool("static", "  replicas: 3\n")}, pool: "static",
			wantReady: metav1.ConditionFalse, wantReason: "StaticNodePoolNotSupported", wantInEvent: "spec.replicas"},
		{name: "a pool failing runtime validation is not used", objects: []string{class, pool("cron", "  disruption:\n    consolidateAfter: 0s\n    budgets:\n      - {nodes: \"0\", schedule: \"61 * * * *\", duration: 1h}\n")}, pool: "cron",
			wantReady: metav1.ConditionFalse, wantReason: "ValidationFailed", wantInEvent: "not a cron schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []runtime.Object
			for _, o := range tt.objects {
				objs = append(objs, object(t, o))
			}
			c, dyn, rec := run(t, objs...)
			eventually(t, "the pool's Ready condition", func() bool { return cond(status(t, dyn, tt.pool), v1.ConditionReady).Status != "" })
			got := cond(status(t, dyn, tt.pool), v1.ConditionReady)
			if got.Status != tt.wantReady || got.Reason != tt.wantReason {
				t.Errorf("Ready = %s (%s: %s), want %s (%s)", got.Status, got.Reason, got.Message, tt.wantReady, tt.wantReason)
			}
			offered := len(c.NodePools()) == 1 && c.NodePools()[0].Name == tt.pool
			if offered != (tt.wantReady == metav1.ConditionTrue) {
				t.Errorf("offered to the planner: %v, want %v", offered, tt.wantReady == metav1.ConditionTrue)
			}
			if tt.wantInEvent != "" {
				select {
				case e := <-rec.Events:
					if !strings.HasPrefix(e, "Warning "+tt.wantReason) || !strings.Contains(e, tt.wantInEvent) {
						t.Errorf("event %q, want a %s warning mentioning %q", e, tt.wantReason, tt.wantInEvent)
					}
				case <-time.After(time.Second):
					t.Errorf("no warning event for the pool")
				}
			}
		})
	}
}

// A pool counts its NodeClaims and sums their capacity, and follows edits and deletion.
func TestPoolStatusFollowsItsNodeClaimsAndEdits(t *testing.T) {
	claim := object(t, `apiVersion: karpenter.sh/v1
kind: NodeClaim
metadata: {name: ok-abcde, labels: {karpenter.sh/nodepool: ok}}
spec:
  nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
  requirements: []
status:
  capacity: {cpu: "2", memory: 8Gi}
`)
	c, dyn, _ := run(t, object(t, class), object(t, pool("ok", "")), claim)
	eventually(t, "one node counted", func() bool {
		s := status(t, dyn, "ok")
		return s.Nodes != nil && *s.Nodes == 1 && s.Resources.Cpu().String() == "2"
	})
	if s := status(t, dyn, "ok"); s.Resources.Memory().String() != "8Gi" || s.Resources.Name("nodes", resource.DecimalSI).String() != "1" {
		t.Errorf("resources %v", s.Resources)
	}

	edited := object(t, pool("ok", "  weight: 42\n"))
	edited.SetResourceVersion("")
	edited.SetGeneration(2) // as the API server counts a spec change; the fake client does not
	eventually(t, "the edit offered to the planner", func() bool {
		// The fake client's UpdateStatus writes the whole object, so a status write from
		// before the edit can undo it, which a real API server would not: edit again until seen.
		if _, err := dyn.Resource(v1.NodePoolResource).Update(context.Background(), edited, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		pools := c.NodePools()
		return len(pools) == 1 && pools[0].WeightOrZero() == 42
	})
	if err := dyn.Resource(v1.NodePoolResource).Delete(context.Background(), "ok", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted pool withdrawn", func() bool { return len(c.NodePools()) == 0 })
}

// Beside a Karpenter, each serves the pools whose nodeClassRef names its group, and the other's
// pools are not touched, not even their status.
func TestEachControllerServesItsOwnNodeClassGroup(t *testing.T) {
	karpenters := pool("karpenters", "")
	ours := strings.Replace(pool("ours", ""), "group: karpenter.k8s.aws", "group: nodewright.io", 1)
	for _, tt := range []struct {
		group, served, untouched string
	}{
		{group: awsv1.NodewrightGroup, served: "ours", untouched: "karpenters"},
		{group: awsv1.Group, served: "karpenters", untouched: "ours"},
	} {
		t.Run(tt.group, func(t *testing.T) {
			dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
				v1.NodePoolResource: "NodePoolList", v1.NodeClaimResource: "NodeClaimList", awsv1.EC2NodeClassResource: "EC2NodeClassList",
			}, object(t, class), object(t, karpenters), object(t, ours))
			ld, err := loader.New()
			if err != nil {
				t.Fatal(err)
			}
			c := New(dyn, dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0), ld, events.NewFakeRecorder(10), slog.New(slog.DiscardHandler), tt.group)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = c.Run(ctx) }()
			eventually(t, "the served pool ready", func() bool { return cond(status(t, dyn, tt.served), v1.ConditionReady).Status == metav1.ConditionTrue })
			if pools := c.NodePools(); len(pools) != 1 || pools[0].Name != tt.served {
				t.Errorf("offered %v, want only %s", pools, tt.served)
			}
			// Both pools were queued at start; give the other's turn time to pass.
			time.Sleep(300 * time.Millisecond)
			if s := status(t, dyn, tt.untouched); len(s.Conditions) != 0 || s.Nodes != nil {
				t.Errorf("the other controller's pool %s got a status %+v", tt.untouched, s)
			}
		})
	}
}

// A pool being deleted (held by a finalizer) launches nothing more.
func TestADeletingPoolIsNotOffered(t *testing.T) {
	deleting := object(t, pool("going", ""))
	deleting.SetFinalizers([]string{"example.com/hold"})
	deleting.SetDeletionTimestamp(&metav1.Time{Time: time.Now()})
	c, dyn, _ := run(t, object(t, class), deleting)
	eventually(t, "the pool's Ready condition", func() bool { return cond(status(t, dyn, "going"), v1.ConditionReady).Status != "" })
	if got := cond(status(t, dyn, "going"), v1.ConditionReady); got.Status != metav1.ConditionFalse || got.Reason != "Deleting" {
		t.Errorf("Ready = %s (%s), want False (Deleting)", got.Status, got.Reason)
	}
	if len(c.NodePools()) != 0 {
		t.Errorf("a deleting pool is offered to the planner")
	}
}

// Beside a Karpenter the EC2NodeClasses' status is Karpenter's: the worker writes none.
func TestBesideKarpenterTheClassStatusIsLeftAlone(t *testing.T) {
	ours := strings.Replace(pool("ours", ""), "group: karpenter.k8s.aws", "group: nodewright.io", 1)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		v1.NodePoolResource: "NodePoolList", v1.NodeClaimResource: "NodeClaimList", awsv1.EC2NodeClassResource: "EC2NodeClassList",
	}, object(t, class), object(t, ours))
	ld, err := loader.New()
	if err != nil {
		t.Fatal(err)
	}
	c := New(dyn, dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0), ld, events.NewFakeRecorder(10), slog.New(slog.DiscardHandler), awsv1.NodewrightGroup)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.Run(ctx) }()
	eventually(t, "our pool ready", func() bool { return cond(status(t, dyn, "ours"), v1.ConditionReady).Status == metav1.ConditionTrue })
	time.Sleep(300 * time.Millisecond)
	u, err := dyn.Resource(awsv1.EC2NodeClassResource).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, found := u.Object["status"]; found {
		t.Errorf("the worker wrote the EC2NodeClass's status beside Karpenter: %v", u.Object["status"])
	}
}

// A scale-out's burst of NodeClaim changes makes a few status writes, not one per change.
func TestABurstOfNodeClaimChangesMakesFewStatusWrites(t *testing.T) {
	_, dyn, _ := run(t, object(t, class), object(t, pool("ok", "")))
	eventually(t, "the pool's first status", func() bool { return cond(status(t, dyn, "ok"), v1.ConditionReady).Status != "" })
	writes := func() int {
		n := 0
		for _, a := range dyn.Actions() {
			if a.GetVerb() == "update" && a.GetSubresource() == "status" && a.GetResource() == v1.NodePoolResource {
				n++
			}
		}
		return n
	}
	// The class's own status write brings the pool back once more: wait until the writes
	// have stopped.
	before := writes()
	for settled := time.Now(); time.Since(settled) < 2*countEvery; time.Sleep(50 * time.Millisecond) {
		if n := writes(); n != before {
			before, settled = n, time.Now()
		}
	}

	start := time.Now()
	const claims = 30
	claimsAPI := dyn.Resource(v1.NodeClaimResource)
	for i := range claims {
		u := object(t, fmt.Sprintf(`apiVersion: karpenter.sh/v1
kind: NodeClaim
metadata: {name: ok-%d, labels: {karpenter.sh/nodepool: ok}}
spec:
  nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
  requirements: []
status:
  capacity: {cpu: "2"}
`, i))
		if _, err := claimsAPI.Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(countEvery / 50) // as a scale-out brings them: one at a time, not in one list
	}
	eventually(t, "every claim counted", func() bool {
		s := status(t, dyn, "ok")
		return s.Nodes != nil && *s.Nodes == claims && s.Resources.Cpu().String() == "60"
	})
	// At most one write a countEvery while they came, and the last one after.
	if got, limit := writes()-before, 2+int(time.Since(start)/countEvery); got > limit {
		t.Errorf("%d NodeClaims created over %s made %d status writes, want at most %d", claims, time.Since(start).Round(time.Millisecond), got, limit)
	}
}

func TestOnlyChangesOfPoolOrCapacityAreCounted(t *testing.T) {
	claim := func(pool, cpu, condition string) *unstructured.Unstructured {
		return object(t, fmt.Sprintf(`apiVersion: karpenter.sh/v1
kind: NodeClaim
metadata: {name: a, labels: {karpenter.sh/nodepool: %s}}
status:
  capacity: {cpu: %q}
  conditions: [{type: Launched, status: %q}]
`, pool, cpu, condition))
	}
	tests := []struct {
		name     string
		old, new *unstructured.Unstructured
		want     bool
	}{
		{"a condition changes", claim("ok", "2", "Unknown"), claim("ok", "2", "True"), false},
		{"the capacity is filled in", claim("ok", "", "True"), claim("ok", "2", "True"), true},
		{"the pool label changes", claim("ok", "2", "True"), claim("other", "2", "True"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countsDiffer(tt.old, tt.new); got != tt.want {
				t.Errorf("countsDiffer = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOnlyASpecOrMetadataChangeResyncsAPool(t *testing.T) {
	base := func() *unstructured.Unstructured {
		u := object(t, pool("ok", ""))
		u.SetGeneration(1)
		u.SetAnnotations(map[string]string{"nodewright.io/max-hourly-cost": "10"})
		return u
	}
	tests := []struct {
		name   string
		change func(u *unstructured.Unstructured)
		resync bool
	}{
		{"the status alone", func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, int64(3), "status", "nodes")
		}, false},
		{"the spec (a new generation)", func(u *unstructured.Unstructured) { u.SetGeneration(2) }, true},
		{"an annotation", func(u *unstructured.Unstructured) {
			u.SetAnnotations(map[string]string{"nodewright.io/max-hourly-cost": "5"})
		}, true},
		{"a label", func(u *unstructured.Unstructured) { u.SetLabels(map[string]string{"team": "web"}) }, true},
		{"deletion", func(u *unstructured.Unstructured) { u.SetDeletionTimestamp(&metav1.Time{Time: time.Now()}) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, changed := base(), base()
			tt.change(changed)
			if got := !onlyStatusDiffers(old, changed); got != tt.resync {
				t.Errorf("resync = %v, want %v", got, tt.resync)
			}
		})
	}
}

func TestClaimCapacityReadsOnlyStatusCapacity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  any
		wantCPU string
		wantErr string
	}{
		{name: "quantities", status: map[string]any{"capacity": map[string]any{"cpu": "2", "memory": "8Gi"}}, wantCPU: "2"},
		{name: "no status yet", status: nil, wantCPU: "0"},
		{name: "no capacity yet", status: map[string]any{"conditions": []any{}}, wantCPU: "0"},
		{name: "an integer, as int-or-string allows", status: map[string]any{"capacity": map[string]any{"cpu": int64(2)}}, wantCPU: "2"},
		{name: "a fraction", status: map[string]any{"capacity": map[string]any{"cpu": 0.5}}, wantCPU: "500m"},
		{name: "neither string nor number", status: map[string]any{"capacity": map[string]any{"cpu": true}}, wantErr: "status.capacity.cpu"},
		{name: "not a quantity", status: map[string]any{"capacity": map[string]any{"cpu": "two"}}, wantErr: "status.capacity.cpu"},
		{name: "capacity not a map", status: map[string]any{"capacity": "2"}, wantErr: "status.capacity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "c"}}}
			if tc.status != nil {
				u.Object["status"] = tc.status
			}
			got, err := claimCapacity(u)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.Cpu().String() != tc.wantCPU {
				t.Errorf("cpu %v (%v), want %s", got.Cpu(), err, tc.wantCPU)
			}
		})
	}
}
