package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// A NodePool's limits hold at every moment, whichever instance types EC2 launches and however
// the pods arrive in batches: the vCPUs of the pool's instances, pending or running, never pass
// spec.limits.cpu, and the pods left over say why they wait. This is the seed's case (limits
// cpu 1000, 1,100 pods of 1 CPU) scaled down; `make chaos` runs it at full size.
func TestNodePoolLimitsHoldWhilePodsArrive(t *testing.T) {
	const pool, limit = "limits", 12
	manifest := strings.Replace(poolYAML(pool, "", "consolidateAfter: Never"),
		"  disruption:\n", fmt.Sprintf("  limits:\n    cpu: \"%d\"\n  disruption:\n", limit), 1)
	e := startAPIEnv(t, manifest)

	vcpus := sample(100*time.Millisecond, poolVCPUs(t, e.ctx, pool))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			vcpus.stop()
		}
	})
	// Two waves, so that the second is planned while the first's claims are still launching.
	e.deploy("first", 8, "1")
	time.Sleep(1500 * time.Millisecond)
	e.deploy("second", 12, "1")

	e.eventually("every pod runs or waits on the pool's limit", 3*time.Minute, func() (bool, string) {
		limited := map[string]bool{}
		for _, ev := range e.events("FailedScheduling") {
			if ev.Regarding.Kind == "Pod" && strings.Contains(ev.Note, fmt.Sprintf("NodePool %q limit cpu %d reached", pool, limit)) {
				limited[ev.Regarding.Name] = true
			}
		}
		running, waiting, unexplained := 0, 0, 0
		for _, p := range e.pods() {
			switch {
			case p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning:
				running++
			case limited[p.Name]:
				waiting++
			default:
				unexplained++
			}
		}
		return running > 0 && waiting > 0 && unexplained == 0 && len(e.nodes()) > 0 && allReady(e.nodes()),
			fmt.Sprintf("%d running, %d waiting on the limit, %d neither", running, waiting, unexplained)
	})
	// Whatever was still in flight has had time to land.
	time.Sleep(3 * time.Second)
	_, peak, samples := vcpus.stop()
	stopped = true
	if peak > limit {
		t.Errorf("the pool's instances held %d vCPU at their peak, over its limit of %d", peak, limit)
	}
	t.Logf("peak %d vCPU of a %d limit over %d samples", peak, limit, samples)
}

func allReady(nodes []corev1.Node) bool {
	for i := range nodes {
		if nodes[i].Spec.Unschedulable || !nodeIsReady(&nodes[i]) {
			return false
		}
	}
	return true
}

// poolVCPUs measures the vCPUs of the pool's instances that are pending or running in the
// lab's EC2.
func poolVCPUs(t *testing.T, ctx context.Context, pool string) func() (int, bool) {
	t.Helper()
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	vcpus := map[string]int{}
	for _, it := range types {
		vcpus[it.Name] = it.VCPU
	}
	api := labEC2()
	return func() (int, bool) {
		out, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			{Name: aws.String("tag:" + v1.LabelNodePool), Values: []string{pool}},
			{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}},
		}})
		if err != nil {
			return 0, false
		}
		total := 0
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				total += vcpus[string(i.InstanceType)]
			}
		}
		return total, true
	}
}
