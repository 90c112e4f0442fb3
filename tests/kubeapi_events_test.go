package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// A pod that fits no NodePool gets a FailedScheduling event from Nodewright with the engine's
// reason; a node held by a do-not-disrupt pod gets DisruptionBlocked, on the Node and on its
// NodeClaim.
func TestEventsSayWhyPodsWaitAndNodesStay(t *testing.T) {
	e := startAPIEnv(t, poolYAML("events", "", "consolidationPolicy: WhenEmptyOrUnderutilized\nconsolidateAfter: 1s"))

	e.deploy("huge", 1, "500")
	e.eventually("the huge pod has Nodewright's FailedScheduling event", time.Minute, func() (bool, string) {
		for _, ev := range e.events("FailedScheduling") {
			if ev.Regarding.Kind == "Pod" && strings.HasPrefix(ev.Regarding.Name, "huge-") && ev.Type == corev1.EventTypeWarning &&
				strings.HasPrefix(ev.Note, "Failed to schedule pod, ") && strings.Contains(ev.Note, "events") {
				return true, ""
			}
		}
		ready, why := condition(e.nodePool(e.pool).Status.Conditions, v1.ConditionReady)
		return false, fmt.Sprintf("NodePool Ready %s (%s); events: %v", ready, why, notes(e.events("FailedScheduling")))
	})

	e.deploy("batch", 1, "500m", func(p *corev1.PodTemplateSpec) {
		p.Annotations = map[string]string{v1.AnnotationDoNotDisrupt: "true"}
		p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("64Mi")
	})
	var node string
	for n := range e.boundPods("batch", 1) {
		node = n
	}
	claim := claimsOf(t, e, map[string]bool{node: true})[node]
	e.eventually("the node and its NodeClaim have DisruptionBlocked naming do-not-disrupt", time.Minute, func() (bool, string) {
		onNode, onClaim := false, false
		for _, ev := range e.events("DisruptionBlocked") {
			if !strings.Contains(ev.Note, v1.AnnotationDoNotDisrupt) {
				continue
			}
			onNode = onNode || ev.Regarding.Kind == "Node" && ev.Regarding.Name == node
			onClaim = onClaim || ev.Regarding.Kind == v1.KindNodeClaim && ev.Regarding.Name == claim && ev.Regarding.UID != ""
		}
		return onNode && onClaim, fmt.Sprintf("on node %v, on NodeClaim %v", onNode, onClaim)
	})
	// consolidateAfter (1s) has passed: the NodeClaim says consolidatable, do-not-disrupt or not.
	e.eventually("the NodeClaim is Consolidatable", time.Minute, func() (bool, string) {
		for _, c := range e.nodeClaims() {
			if c.Name == claim {
				s, _ := condition(c.Status.Conditions, v1.ConditionConsolidatable)
				return s == "True", "Consolidatable " + s
			}
		}
		return false, "no NodeClaim " + claim
	})
}

// events lists the events.k8s.io events Nodewright recorded with the reason, in any
// namespace.
func (e *env) events(reason string) []eventsv1.Event {
	e.t.Helper()
	list, err := lab.Kube.Client.EventsV1().Events(metav1.NamespaceAll).List(e.ctx, metav1.ListOptions{FieldSelector: "reason=" + reason})
	if err != nil {
		e.t.Fatalf("list events: %v", err)
	}
	var out []eventsv1.Event
	for _, ev := range list.Items {
		if ev.ReportingController == "nodewright" {
			out = append(out, ev)
		}
	}
	return out
}

// boundPods waits until want pods of the Deployment run and returns their nodes.
func (e *env) boundPods(deployment string, want int) map[string]bool {
	e.t.Helper()
	var nodes map[string]bool
	e.eventually(fmt.Sprintf("%d %s pods running", want, deployment), 3*time.Minute, func() (bool, string) {
		nodes = map[string]bool{}
		running := 0
		for _, p := range e.pods() {
			if strings.HasPrefix(p.Name, deployment+"-") && p.Status.Phase == corev1.PodRunning {
				running++
				nodes[p.Spec.NodeName] = true
			}
		}
		return running == want, fmt.Sprintf("%d running", running)
	})
	return nodes
}

func notes(evs []eventsv1.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Regarding.Kind+"/"+ev.Regarding.Name+": "+ev.Note)
	}
	return out
}
