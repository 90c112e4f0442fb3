//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// R5's workloads beside the churning Deployment named after the pool: one behind a
// PodDisruptionBudget that allows nothing, one of do-not-disrupt pods, one behind a budget
// allowing one pod down.
const (
	guarded, pinned, limited = "guarded", "pinned", "limited"
	r5Budget                 = 2 // the pool's disruption budget, in nodes
)

// R5: consolidation runs while a Deployment scales up and down at random; a checker samples
// all along: no pod behind a PodDisruptionBudget allowing nothing and no do-not-disrupt pod is
// ever evicted, the budget of one pod down holds, and no more nodes than the pool's budget
// are disrupted at once.
func r5Disruption(t *testing.T) {
	r := newScaleRun(t, "R5", 0, poolSpec{
		requirements:  `- {key: karpenter.k8s.aws/instance-cpu, operator: In, values: ["4"]}`,
		consolidation: "WhenEmptyOrUnderutilized", budget: fmt.Sprint(r5Budget),
	})
	r.start = time.Now()
	r.deploy(guarded, 3)
	r.pdb(guarded, intstr.FromString("100%"), nil)
	r.deploy(pinned, 3, func(p *corev1.PodTemplateSpec) {
		p.Annotations = map[string]string{v1.AnnotationDoNotDisrupt: "true"}
	})
	r.deploy(limited, 4)
	one := intstr.FromInt32(1)
	r.pdb(limited, intstr.IntOrString{}, &one)
	r.deploy(r.pool, 6)
	r.fig.pods = 16
	r.waitUntilBound(r.fig.pods, 10*time.Minute)

	check := startDisruptionChecker(r)
	rng := rand.New(rand.NewPCG(5, 5))
	peak := 6
	for round := range *churnRounds {
		n := rng.IntN(13)
		peak = max(peak, n)
		if err := r.scaleTo(r.pool, n); err != nil {
			t.Errorf("round %d: %v", round, err)
		}
		time.Sleep(time.Duration(8+rng.IntN(8)) * time.Second)
	}
	v := check.stop()
	r.fig.pods = 10 + peak
	r.fig.extra = fmt.Sprintf("rounds=%d nodes-disrupted=%d pdb-violations=%d do-not-disrupt-violations=%d budget-peak=%d/%d samples=%d",
		*churnRounds, r.terminated(), v.pdb, v.doNotDisrupt, v.budgetPeak, r5Budget, v.samples)
	if v.pdb > 0 || v.doNotDisrupt > 0 {
		r.fig.problem("%d pods evicted through a PodDisruptionBudget, %d do-not-disrupt pods evicted", v.pdb, v.doNotDisrupt)
	}
	if v.budgetPeak > r5Budget {
		r.fig.problem("%d nodes disrupted at once, over the pool's budget of %d", v.budgetPeak, r5Budget)
	}
	for _, name := range []string{guarded, pinned, limited} {
		_ = lab.Kube.Client.PolicyV1().PodDisruptionBudgets(r.pool).Delete(r.ctx, name, metav1.DeleteOptions{})
		_ = lab.Kube.Client.AppsV1().Deployments(r.pool).Delete(r.ctx, name, metav1.DeleteOptions{})
	}
	r.scaleIn(15 * time.Minute)
	r.finish()
}

func (r *scaleRun) pdb(app string, minAvailable intstr.IntOrString, maxUnavailable *intstr.IntOrString) {
	r.t.Helper()
	spec := policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}, MaxUnavailable: maxUnavailable}
	if maxUnavailable == nil {
		spec.MinAvailable = &minAvailable
	}
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: r.pool}, Spec: spec}
	if _, err := lab.Kube.Client.PolicyV1().PodDisruptionBudgets(r.pool).Create(r.ctx, pdb, metav1.CreateOptions{}); err != nil {
		r.t.Fatalf("create PodDisruptionBudget %s: %v", app, err)
	}
}

// terminated counts the pool's instances terminated or shutting down.
func (r *scaleRun) terminated() int {
	n := 0
	for _, i := range r.instances() {
		if i.State == "terminated" || i.State == "shutting-down" {
			n++
		}
	}
	return n
}

// violations are what the checker saw go wrong.
type violations struct {
	pdb, doNotDisrupt int // pods gone that must not have gone
	budgetPeak        int // most nodes disrupted at once
	samples           int
}

type disruptionChecker struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	v      violations
}

// startDisruptionChecker samples every quarter second from now: the guarded and pinned pods
// must stay the ones running now; the limited ones never fewer than all but one; the
// pool's nodes tainted karpenter.sh/disrupted never more than its budget.
func startDisruptionChecker(r *scaleRun) *disruptionChecker {
	ctx, cancel := context.WithCancel(r.ctx)
	c := &disruptionChecker{cancel: cancel}
	keep := map[string]string{} // pod uid → its Deployment, for guarded and pinned pods
	for _, p := range r.podsOf(ctx, guarded, pinned) {
		keep[string(p.UID)] = p.Labels["app"]
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		gone := map[string]bool{}
		wasShort := false
		for ctx.Err() == nil {
			present := map[string]bool{}
			for _, p := range r.podsOf(ctx, guarded, pinned) {
				present[string(p.UID)] = true
			}
			for uid, app := range keep {
				if !present[uid] && !gone[uid] && ctx.Err() == nil {
					gone[uid] = true
					if app == guarded {
						c.v.pdb++
					} else {
						c.v.doNotDisrupt++
					}
				}
			}
			// One dip below all-but-one counts once, however many samples it lasts.
			short := len(r.podsOf(ctx, limited)) < 3 && ctx.Err() == nil
			if short && !wasShort {
				c.v.pdb++
			}
			wasShort = short
			c.v.budgetPeak = max(c.v.budgetPeak, r.disruptedNodes(ctx))
			c.v.samples++
			time.Sleep(250 * time.Millisecond)
		}
	}()
	return c
}

func (c *disruptionChecker) stop() violations {
	c.cancel()
	c.wg.Wait()
	return c.v
}

// podsOf lists the running, undeleted pods of the named Deployments.
func (r *scaleRun) podsOf(ctx context.Context, apps ...string) []corev1.Pod {
	list, err := lab.Kube.Client.CoreV1().Pods(r.pool).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		for _, app := range apps {
			if p.Labels["app"] == app && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				out = append(out, p)
			}
		}
	}
	return out
}

// disruptedNodes counts the pool's nodes tainted karpenter.sh/disrupted.
func (r *scaleRun) disruptedNodes(ctx context.Context) int {
	list, err := lab.Kube.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: v1.LabelNodePool + "=" + r.pool})
	if err != nil {
		return 0
	}
	n := 0
	for _, node := range list.Items {
		for _, taint := range node.Spec.Taints {
			if taint.Key == v1.TaintKeyDisrupted {
				n++
				break
			}
		}
	}
	return n
}
