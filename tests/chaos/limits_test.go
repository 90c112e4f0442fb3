//go:build chaos

package chaos

import (
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
)

// R7: a pool limited to -limit-cpu vCPU and 10% more pending 1-CPU pods than that: its
// instances never hold more than the limit, and the pods left over carry an event saying why.
func r7NodePoolLimits(t *testing.T) {
	limit := *limitCPU
	pods := limit + limit/10
	r := newScaleRun(t, "R7", pods, poolSpec{
		requirements: `- {key: karpenter.k8s.aws/instance-cpu, operator: Lt, values: ["17"]}`,
		limitCPU:     limit,
	})
	peak := samplePeakVCPU(r.pool)
	r.start = time.Now()
	r.createDeployment()
	// The engine writes the limit as a quantity: 1000 CPUs read "1k".
	why := regexp.MustCompile(fmt.Sprintf(`NodePool %q limit cpu \S+ reached`, r.pool))
	var running, waiting, unexplained int
	ok := r.waitFor("every pod running or waiting on the limit", 15*time.Minute, func() (bool, string) {
		running, waiting, unexplained = r.podsByReason(why)
		return running > 0 && waiting > 0 && unexplained == 0, fmt.Sprintf("%d running, %d waiting on the limit, %d neither", running, waiting, unexplained)
	})
	r.fig.bound, r.fig.boundIn = running, time.Since(r.start)
	if !ok {
		r.fig.problem("%d pods neither running nor told why they wait", unexplained)
	}
	time.Sleep(5 * time.Second) // whatever was in flight has landed
	top := peak.stop()
	if top > limit {
		r.fig.problem("the pool's instances held %d vCPU at their peak, over its limit of %d", top, limit)
	}
	r.scaleIn(15 * time.Minute)
	r.fig.extra = fmt.Sprintf("peak-vcpu=%d/%d waiting-with-reason=%d", top, limit, waiting)
	r.finish()
}

// podsByReason sorts the scenario's pods into running, waiting with a FailedScheduling event
// that says why, and neither.
func (r *scaleRun) podsByReason(why *regexp.Regexp) (running, waiting, unexplained int) {
	events, err := lab.Kube.Client.EventsV1().Events(r.pool).List(r.ctx, metav1.ListOptions{FieldSelector: "reason=FailedScheduling"})
	if err != nil {
		return 0, 0, -1
	}
	told := map[string]bool{}
	for _, ev := range events.Items {
		if ev.ReportingController == "nodewright" && why.MatchString(ev.Note) {
			told[ev.Regarding.Name] = true
		}
	}
	list, err := lab.Kube.Client.CoreV1().Pods(r.pool).List(r.ctx, metav1.ListOptions{})
	if err != nil {
		return 0, 0, -1
	}
	for _, p := range list.Items {
		switch {
		case p.DeletionTimestamp != nil:
		case p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning:
			running++
		case told[p.Name]:
			waiting++
		default:
			unexplained++
		}
	}
	return running, waiting, unexplained
}

// peakSampler watches the vCPUs of a pool's pending and running instances.
type peakSampler struct {
	stopOnce sync.Once
	done     chan struct{}
	result   chan int
}

func samplePeakVCPU(pool string) *peakSampler {
	vcpus := map[string]int{}
	for _, it := range lab.Types {
		vcpus[it.Name] = it.VCPU
	}
	s := &peakSampler{done: make(chan struct{}), result: make(chan int, 1)}
	go func() {
		peak := 0
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			total := 0
			for _, i := range lab.EC2.Instances() {
				if i.Tags[v1.LabelNodePool] == pool && (i.State == ec2sim.StatePending || i.State == ec2sim.StateRunning) {
					total += vcpus[i.Type]
				}
			}
			peak = max(peak, total)
			select {
			case <-s.done:
				s.result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *peakSampler) stop() int {
	s.stopOnce.Do(func() { close(s.done) })
	return <-s.result
}
