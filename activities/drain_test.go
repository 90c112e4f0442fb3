package activities

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const testDrainReason = "consolidation: replaced by a cheaper node"

func TestDrainNode(t *testing.T) {
	t.Parallel()
	disrupted := corev1.Toleration{Key: "karpenter.sh/disrupted", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name string
		pods []*corev1.Pod
		// deadline is the request's deadline from drainStart; zero means none.
		deadline time.Duration
		// forceful drains do-not-disrupt pods too (expiration, interruption).
		forceful bool
		// step is the virtual time each look at the node's pods takes (500 ms by default).
		step     time.Duration
		budgets  []budget
		removals map[string]int // pod → the look before which it vanishes on its own
		failures map[string]error
		// failUntil: the pods' evictions fail with their failures until this look.
		failUntil map[string]int

		wantAsked      []string
		wantFirstAsked map[string]int
		wantDeletions  map[string]int64
		want           DrainResult
		wantLeft       []string
	}{
		{
			name: "workloads go first, then daemonsets, then critical pods, then critical daemonsets, each tier once the last is gone",
			pods: []*corev1.Pod{
				pod("web-1"), pod("web-2"), pod("logs", ownedByDaemonSet()),
				pod("dns", priorityClass("system-cluster-critical")),
				pod("kube-proxy", ownedByDaemonSet(), priorityClass("system-node-critical")),
			},
			// web-2's budget holds the daemonsets back for two more looks.
			budgets:        []budget{{pods: []string{"web-2"}, refusals: 2}},
			wantAsked:      []string{"web-1", "web-2", "web-2", "web-2", "logs", "dns", "kube-proxy"},
			wantFirstAsked: map[string]int{"web-1": 1, "logs": 4, "dns": 5, "kube-proxy": 6},
			want: DrainResult{
				Evicted:   []string{"ns/dns", "ns/kube-proxy", "ns/logs", "ns/web-1", "ns/web-2"},
				Completed: true,
			},
		},
		{
			name: "mirror, finished, tolerating and long-stuck pods stay, and pods of other nodes are not touched",
			pods: []*corev1.Pod{
				pod("static", mirror()), pod("done", finished()), pod("crashed", failed()),
				pod("tolerates-disrupted", tolerating(disrupted)),
				pod("tolerates-everything", tolerating(corev1.Toleration{Operator: corev1.TolerationOpExists})),
				pod("zombie", terminatingUntil(drainStart().Add(-2*time.Minute))),
				pod("tolerates-other", tolerating(corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpExists})),
				pod("elsewhere", onNode("n2")),
			},
			wantAsked: []string{"tolerates-other"},
			want: DrainResult{
				Evicted:   []string{"ns/tolerates-other"},
				Skipped:   []string{"ns/crashed", "ns/done", "ns/static", "ns/tolerates-disrupted", "ns/tolerates-everything", "ns/zombie"},
				Completed: true,
			},
			wantLeft: []string{"crashed", "done", "elsewhere", "static", "tolerates-disrupted", "tolerates-everything", "zombie"},
		},
		{
			name:      "a pod its budget refuses three times is evicted on the fourth ask and no longer reported blocked",
			pods:      []*corev1.Pod{pod("web-1")},
			budgets:   []budget{{pods: []string{"web-1"}, refusals: 3}},
			wantAsked: []string{"web-1", "web-1", "web-1", "web-1"},
			want:      DrainResult{Evicted: []string{"ns/web-1"}, Completed: true},
		},
		{
			name:     "a pod already shutting down holds back the next tier until it is gone",
			pods:     []*corev1.Pod{pod("web-1", terminatingUntil(drainStart().Add(30*time.Second))), pod("logs", ownedByDaemonSet())},
			removals: map[string]int{"web-1": 3},
			// web-1 is never evicted: it is on its way out already.
			wantAsked:      []string{"logs"},
			wantFirstAsked: map[string]int{"logs": 3},
			want:           DrainResult{Evicted: []string{"ns/logs"}, Completed: true},
		},
		{
			name:      "a pod the eviction API no longer finds counts as gone, not as evicted",
			pods:      []*corev1.Pod{pod("ghost")},
			failures:  map[string]error{"ghost": apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "ghost")},
			removals:  map[string]int{"ghost": 2},
			wantAsked: []string{"ghost"},
			want:      DrainResult{Completed: true},
		},
		{
			name:      "a pod two budgets cover does not hold up the rest of its tier; it is asked again with a backoff and the next tier waits for it",
			pods:      []*corev1.Pod{pod("web-1"), pod("web-2"), pod("logs", ownedByDaemonSet())},
			failures:  map[string]error{"web-1": multiplePDBsError()},
			failUntil: map[string]int{"web-1": 4},
			// The backoff (100, 200, 400 ms) is shorter than a look, so each look asks again.
			wantAsked:      []string{"web-1", "web-2", "web-1", "web-1", "web-1", "logs"},
			wantFirstAsked: map[string]int{"web-2": 1, "logs": 5},
			want: DrainResult{
				Evicted:   []string{"ns/logs", "ns/web-1", "ns/web-2"},
				Completed: true,
			},
		},
		{
			name:     "a pod whose eviction the API server keeps failing is asked again while the rest of its tier goes, and is deleted at the deadline",
			pods:     []*corev1.Pod{pod("web-1", gracePeriod(30)), pod("web-2")},
			failures: map[string]error{"web-1": apierrors.NewInternalError(errors.New("etcdserver: request timed out"))},
			deadline: 60 * time.Second,
			step:     10 * time.Second,
			// Looks at +10 s and +20 s ask; the look at +30 s is deadline minus 30 s.
			wantAsked:     []string{"web-1", "web-2", "web-1"},
			wantDeletions: map[string]int64{"web-1": 30},
			want: DrainResult{
				Evicted:   []string{"ns/web-2"},
				Deleted:   []string{"ns/web-1"},
				Blocked:   map[string]string{"ns/web-1": BlockedByEvictionError},
				Completed: true,
			},
		},
		{
			name: "without a deadline a do-not-disrupt pod stops the drain in its tier and is reported",
			pods: []*corev1.Pod{
				pod("web-1"), pod("batch", doNotDisrupt()), pod("logs", ownedByDaemonSet()),
				pod("other-batch", doNotDisrupt(), ownedByDaemonSet()),
			},
			wantAsked: []string{"web-1"},
			want: DrainResult{
				Evicted:   []string{"ns/web-1"},
				Blocked:   map[string]string{"ns/batch": BlockedByDoNotDisrupt, "ns/other-batch": BlockedByDoNotDisrupt},
				Completed: false,
			},
			wantLeft: []string{"batch", "logs", "other-batch"},
		},
		{
			name:      "a forceful drain evicts do-not-disrupt pods like any other",
			pods:      []*corev1.Pod{pod("web-1"), pod("batch", doNotDisrupt())},
			forceful:  true,
			wantAsked: []string{"batch", "web-1"},
			want:      DrainResult{Evicted: []string{"ns/batch", "ns/web-1"}, Completed: true},
		},
		{
			name:     "a pod its budget never lets go is deleted at the deadline minus its grace period, with the time left as grace",
			pods:     []*corev1.Pod{pod("web-1", gracePeriod(30))},
			deadline: 60 * time.Second,
			step:     10 * time.Second,
			budgets:  []budget{{pods: []string{"web-1"}, refusals: -1}},
			// Looks at +10 s and +20 s ask; the look at +30 s is deadline minus 30 s.
			wantAsked:     []string{"web-1", "web-1"},
			wantDeletions: map[string]int64{"web-1": 30},
			want: DrainResult{
				Deleted:   []string{"ns/web-1"},
				Blocked:   map[string]string{"ns/web-1": BlockedByPDB},
				Completed: true,
			},
		},
		{
			name:     "with a deadline a do-not-disrupt pod is deleted at the deadline minus its grace period, and the next tier follows",
			pods:     []*corev1.Pod{pod("web-1"), pod("batch", doNotDisrupt(), gracePeriod(60)), pod("logs", ownedByDaemonSet())},
			deadline: 120 * time.Second,
			step:     10 * time.Second,
			// The look at +60 s deletes batch; logs is asked at the look after, once it is gone.
			wantAsked:      []string{"web-1", "logs"},
			wantFirstAsked: map[string]int{"web-1": 1, "logs": 7},
			wantDeletions:  map[string]int64{"batch": 60},
			want: DrainResult{
				Evicted:   []string{"ns/logs", "ns/web-1"},
				Deleted:   []string{"ns/batch"},
				Blocked:   map[string]string{"ns/batch": BlockedByDoNotDisrupt},
				Completed: true,
			},
		},
		{
			name: "a drain that starts after the deadline deletes every pod at once, whatever its tier",
			pods: []*corev1.Pod{
				pod("web-1"), pod("logs", ownedByDaemonSet()), pod("dns", priorityClass("system-cluster-critical")),
				pod("batch", doNotDisrupt()), pod("static", mirror()),
			},
			deadline:      -time.Second,
			wantDeletions: map[string]int64{"web-1": 0, "logs": 0, "dns": 0, "batch": 0},
			want: DrainResult{
				Deleted:   []string{"ns/batch", "ns/dns", "ns/logs", "ns/web-1"},
				Skipped:   []string{"ns/static"},
				Blocked:   map[string]string{"ns/batch": BlockedByDoNotDisrupt},
				Completed: true,
			},
			wantLeft: []string{"static"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			objects := make([]runtime.Object, len(tt.pods))
			for i, p := range tt.pods {
				objects[i] = p
			}
			c := newFakeCluster(t, cmp.Or(tt.step, drainPollInterval), objects...)
			for _, b := range tt.budgets {
				c.addBudget(b)
			}
			maps.Copy(c.failures, tt.failures)
			for name, look := range tt.failUntil {
				c.failUntilLook(name, tt.failures[name], look)
			}
			for name, look := range tt.removals {
				c.removeAtLook(t, name, look)
			}
			req := DrainRequest{NodeName: "n1", Reason: testDrainReason, Forceful: tt.forceful}
			if tt.deadline != 0 {
				req.Deadline = drainStart().Add(tt.deadline)
			}

			got, err := runDrain(t, c.kube(), req, nil, nil)
			if err != nil {
				t.Fatalf("drain: %v", err)
			}
			checkDrainResult(t, got, tt.want)
			if asked := c.askedPods(); !slices.Equal(asked, tt.wantAsked) {
				t.Errorf("evictions asked %v, want %v", asked, tt.wantAsked)
			}
			for name, look := range tt.wantFirstAsked {
				if got := c.firstAsked(name); got != look {
					t.Errorf("%s first asked after look %d, want after look %d", name, got, look)
				}
			}
			if got := c.deletions(); !maps.Equal(got, tt.wantDeletions) {
				t.Errorf("pods deleted with grace seconds %v, want %v", got, tt.wantDeletions)
			}
			if left := c.podsLeft(t); !slices.Equal(left, tt.wantLeft) {
				t.Errorf("pods left %v, want %v", left, tt.wantLeft)
			}
		})
	}
}

func TestDrainNodeRecordsWhatItDidOnPodEvents(t *testing.T) {
	t.Parallel()
	c := newFakeCluster(t, 10*time.Second, pod("web-1", gracePeriod(0)), pod("batch", doNotDisrupt(), gracePeriod(0)))
	req := DrainRequest{NodeName: "n1", Reason: testDrainReason, Deadline: drainStart().Add(20 * time.Second)}
	if _, err := runDrain(t, c.kube(), req, nil, nil); err != nil {
		t.Fatalf("drain: %v", err)
	}
	events, err := c.client.CoreV1().Events("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range events.Items {
		got[e.InvolvedObject.Name] = e.Reason + " " + e.Message
	}
	want := map[string]string{
		"web-1": "Evicted Evicted pod: " + testDrainReason,
		"batch": "Deleted Deleted pod: the node's termination grace period expired: " + testDrainReason,
	}
	if !maps.Equal(got, want) {
		t.Errorf("events by pod %v, want %v", got, want)
	}
}

func TestDrainNodeWaitsForTheDrainedPodsVolumesToDetach(t *testing.T) {
	t.Parallel()
	c := newFakeCluster(t, drainPollInterval,
		pod("db-0", withClaim("data")), pod("cache", withClaim("scratch"), tolerating(corev1.Toleration{Operator: corev1.TolerationOpExists})),
		boundClaim("data", "pv-data"), boundClaim("scratch", "pv-scratch"),
		volumeAttachment("va-data", "n1", "pv-data"),
		volumeAttachment("va-scratch", "n1", "pv-scratch"), // its pod stays, so it never detaches
		volumeAttachment("va-elsewhere", "n2", "pv-other"),
		volumeAttachment("va-inline", "n1", ""), // no persistent volume to match
	)
	c.removeVolumeAttachmentAtLook(t, "va-data", 3)

	got, err := runDrain(t, c.kube(), DrainRequest{NodeName: "n1"}, nil, nil)
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	if !got.Completed || got.VolumeAttachmentsWaited != 1 {
		t.Errorf("completed %v after waiting on %d volume attachments, want completed after 1 (va-data)", got.Completed, got.VolumeAttachmentsWaited)
	}
	if c.vaLooks != 3 {
		t.Errorf("looked at volume attachments %d times, want 3: until va-data was gone", c.vaLooks)
	}
}

func TestDrainNodeDoesNotWaitForVolumesPastTheDeadline(t *testing.T) {
	t.Parallel()
	c := newFakeCluster(t, drainPollInterval,
		pod("db-0", withClaim("data")), boundClaim("data", "pv-data"), volumeAttachment("va-data", "n1", "pv-data"))
	req := DrainRequest{NodeName: "n1", Deadline: drainStart().Add(-time.Second)}

	got, err := runDrain(t, c.kube(), req, nil, nil)
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	if !got.Completed || got.VolumeAttachmentsWaited != 0 || c.vaLooks != 0 {
		t.Errorf("completed %v, waited on %d volume attachments over %d looks; want completed without waiting",
			got.Completed, got.VolumeAttachmentsWaited, c.vaLooks)
	}
}

func TestDrainNodeResumesTheProgressOfTheAttemptBefore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		resume DrainProgress
		// wantRetryGap is how many looks pass between web-2's refused ask and the next, at
		// least and at most (the jitter is a hash of the pod key).
		wantRetryGap [2]int
		want         DrainResult
	}{
		{
			name: "a retry keeps the pods evicted and deleted before, and backs off from the refusals counted before",
			resume: DrainProgress{
				NodeName: "n1", Evicted: []string{"ns/web-0"}, Deleted: []string{"ns/old"},
				Blocked: map[string]string{"ns/old": BlockedByPDB}, PDBRefusals: map[string]int{"ns/web-2": 6},
			},
			// The seventh refusal in a row waits 6.4 s, less at most a quarter: over four 1 s looks.
			wantRetryGap: [2]int{5, 7},
			want: DrainResult{
				Evicted: []string{"ns/web-0", "ns/web-2"}, Deleted: []string{"ns/old"},
				Blocked: map[string]string{"ns/old": BlockedByPDB}, Completed: true,
			},
		},
		{
			name:         "the progress of another node's drain is ignored",
			resume:       DrainProgress{NodeName: "n9", Evicted: []string{"ns/web-0"}, PDBRefusals: map[string]int{"ns/web-2": 6}},
			wantRetryGap: [2]int{1, 1},
			want:         DrainResult{Evicted: []string{"ns/web-2"}, Completed: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newFakeCluster(t, time.Second, pod("web-2"))
			c.addBudget(budget{pods: []string{"web-2"}, refusals: 1})

			got, err := runDrain(t, c.kube(), DrainRequest{NodeName: "n1"}, &tt.resume, nil)
			if err != nil {
				t.Fatalf("drain: %v", err)
			}
			checkDrainResult(t, got, tt.want)
			if len(c.asked) != 2 {
				t.Fatalf("web-2 asked %d times, want 2 (refused, then evicted)", len(c.asked))
			}
			if gap := c.asked[1].look - c.asked[0].look; gap < tt.wantRetryGap[0] || gap > tt.wantRetryGap[1] {
				t.Errorf("web-2 asked again %d looks after its refusal, want %d to %d", gap, tt.wantRetryGap[0], tt.wantRetryGap[1])
			}
		})
	}
}

func TestDrainNodeStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	c := newFakeCluster(t, drainPollInterval, pod("web-1"))
	c.addBudget(budget{pods: []string{"web-1"}, refusals: -1})
	c.askedCh = make(chan string, 100)
	// The SDK cancels an activity's context with a CanceledError as the cause when the
	// server asks it to stop; cancelling the worker's context that way does the same.
	worker, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)

	done := make(chan error, 1)
	go func() {
		_, err := runDrain(t, c.kube(), DrainRequest{NodeName: "n1"}, nil, worker)
		done <- err
	}()
	<-c.askedCh // the budget refused once: the drain is now waiting to ask again
	cancel(temporal.NewCanceledError())
	select {
	case err := <-done:
		var cancelled *temporal.CanceledError
		if !errors.As(err, &cancelled) {
			t.Errorf("drain ended with %v, want a cancellation", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("drain still running a minute after cancellation")
	}
}

func TestDrainNodeRejectsARequestWithoutANode(t *testing.T) {
	t.Parallel()
	c := newFakeCluster(t, drainPollInterval)
	_, err := runDrain(t, c.kube(), DrainRequest{}, nil, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeInvalidDrain || !appErr.NonRetryable() {
		t.Errorf("drain error %v, want a non-retryable %s", err, ErrTypeInvalidDrain)
	}
}

func TestDrainNodeActsOnlyOnTheNodeOfTheInstance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		node        *corev1.Node
		req         DrainRequest
		wantEvicted bool
		wantRefusal string
	}{
		{name: "the instance's Node is drained",
			node: node("n1", withProviderID("aws:///zone-a/i-1")), req: DrainRequest{NodeName: "n1", InstanceID: "i-1"}, wantEvicted: true},
		{name: "a Node of another instance is refused",
			node: node("n1", withProviderID("aws:///zone-a/i-2")), req: DrainRequest{NodeName: "n1", InstanceID: "i-1"},
			wantRefusal: `node n1 has providerID "aws:///zone-a/i-2", not one of instance i-1`},
		{name: "a Node that is not an EC2 instance's is refused",
			node: node("n1", withProviderID("kind://docker/lab/n1")), req: DrainRequest{NodeName: "n1", InstanceID: "i-1"}, wantRefusal: "not one of instance i-1"},
		{name: "an older worker's request without an instance drains the named Node",
			node: node("n1", withProviderID("aws:///zone-a/i-2")), req: DrainRequest{NodeName: "n1"}, wantEvicted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newFakeCluster(t, drainPollInterval, tt.node, pod("web"))
			_, err := runDrain(t, c.kube(), tt.req, nil, nil)
			assertRefusal(t, err, tt.wantRefusal)
			if evicted := len(c.asked) > 0; evicted != tt.wantEvicted {
				t.Errorf("evictions asked %v, want evicted: %v", c.asked, tt.wantEvicted)
			}
		})
	}
}

// checkDrainResult compares results, taking nil and empty as the same.
func checkDrainResult(t *testing.T, got, want DrainResult) {
	t.Helper()
	if !slices.Equal(got.Evicted, want.Evicted) {
		t.Errorf("evicted %v, want %v", got.Evicted, want.Evicted)
	}
	if !slices.Equal(got.Deleted, want.Deleted) {
		t.Errorf("deleted %v, want %v", got.Deleted, want.Deleted)
	}
	if !slices.Equal(got.Skipped, want.Skipped) {
		t.Errorf("skipped %v, want %v", got.Skipped, want.Skipped)
	}
	if !maps.Equal(got.Blocked, want.Blocked) {
		t.Errorf("blocked %v, want %v", got.Blocked, want.Blocked)
	}
	if got.Completed != want.Completed {
		t.Errorf("completed %v, want %v", got.Completed, want.Completed)
	}
	if got.VolumeAttachmentsWaited != want.VolumeAttachmentsWaited {
		t.Errorf("waited on %d volume attachments, want %d", got.VolumeAttachmentsWaited, want.VolumeAttachmentsWaited)
	}
}

func TestDrainNodeHeartbeatsItsProgress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		pods     []runtime.Object
		budgets  []budget
		failures map[string]error
		want     DrainProgress
	}{
		{
			name:    "a pod its budget refuses is counted and reported blocked, the next tier left for later",
			pods:    []runtime.Object{pod("web-1"), pod("logs", ownedByDaemonSet())},
			budgets: []budget{{pods: []string{"web-1"}, refusals: -1}},
			want: DrainProgress{
				NodeName: "n1", Step: drainStepEvicting, Tier: 1, TierName: "non-critical pods",
				PodsLeft: []string{"ns/web-1", "ns/logs"}, PDBRefusals: map[string]int{"ns/web-1": 1},
				Blocked: map[string]string{"ns/web-1": BlockedByPDB},
			},
		},
		{
			name:     "a pod two budgets cover is counted as refused and reported blocked by them",
			pods:     []runtime.Object{pod("web-1")},
			failures: map[string]error{"web-1": multiplePDBsError()},
			want: DrainProgress{
				NodeName: "n1", Step: drainStepEvicting, Tier: 1, TierName: "non-critical pods",
				PodsLeft: []string{"ns/web-1"}, PDBRefusals: map[string]int{"ns/web-1": 1},
				Blocked: map[string]string{"ns/web-1": BlockedByMultiplePDBs},
			},
		},
		{
			name:     "a pod whose eviction failed is reported with the error, and the rest of its tier is evicted",
			pods:     []runtime.Object{pod("web-1"), pod("web-2")},
			failures: map[string]error{"web-1": apierrors.NewInternalError(errors.New("etcdserver: request timed out"))},
			want: DrainProgress{
				NodeName: "n1", Step: drainStepEvicting, Tier: 1, TierName: "non-critical pods",
				PodsLeft: []string{"ns/web-1", "ns/web-2"}, Evicted: []string{"ns/web-2"},
				FailedEvictions: map[string]FailedEviction{"ns/web-1": {Count: 1, Error: "evict ns/web-1: Internal error occurred: etcdserver: request timed out"}},
				Blocked:         map[string]string{"ns/web-1": BlockedByEvictionError},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newFakeCluster(t, 30*time.Second, tt.pods...)
			for _, b := range tt.budgets {
				c.addBudget(b)
			}
			maps.Copy(c.failures, tt.failures)
			if got := firstHeartbeat(t, c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("first heartbeat %+v, want %+v", got, tt.want)
			}
		})
	}
}

// firstHeartbeat drains n1 until a deadline that ends what the budgets or failures would
// hold up for ever, and returns the drain's first heartbeat (the SDK sends the first at
// once and throttles the rest).
func firstHeartbeat(t *testing.T, c *fakeCluster) DrainProgress {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	var mu sync.Mutex
	var beats []DrainProgress
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p DrainProgress
		if err := details.Get(&p); err != nil {
			t.Errorf("decode heartbeat: %v", err)
		}
		mu.Lock()
		beats = append(beats, p)
		mu.Unlock()
	})
	env.RegisterActivity(c.kube().DrainNode)
	req := DrainRequest{NodeName: "n1", Deadline: drainStart().Add(2 * time.Minute)}
	if _, err := env.ExecuteActivity(c.kube().DrainNode, req); err != nil {
		t.Fatalf("drain: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(beats) == 0 {
		t.Fatal("drain of n1 sent no heartbeat")
	}
	return beats[0]
}
