package tests

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Issue 3's lab check: a mixed workload — generic, zonal spread, hostname spread, zonal
// self-affinity, hostname anti-affinity and GPU pods with a toleration — is planned in one
// batch, every pod is bound by the real kube-scheduler on the nodes launched, and no node is
// left empty.
func TestMixedWorkloadIsBoundOnThePlannedNodes(t *testing.T) {
	pools := `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: mixed
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: mixed}
      requirements:
        - key: karpenter.k8s.aws/instance-category
          operator: In
          values: ["c", "m", "g"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["on-demand"]
        - key: kubernetes.io/arch
          operator: In
          values: ["amd64"]
  disruption:
    consolidateAfter: Never
` + nodeClassYAML("mixed")
	e := startEnv(t, pools)
	spread := func(key string) func(*corev1.PodTemplateSpec) {
		return func(p *corev1.PodTemplateSpec) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
				MaxSkew: 1, TopologyKey: key, WhenUnsatisfiable: corev1.DoNotSchedule,
				LabelSelector: &metav1.LabelSelector{MatchLabels: p.Labels},
			}}
		}
	}
	affinity := func(key string, anti bool) func(*corev1.PodTemplateSpec) {
		return func(p *corev1.PodTemplateSpec) {
			term := []corev1.PodAffinityTerm{{TopologyKey: key, LabelSelector: &metav1.LabelSelector{MatchLabels: p.Labels}}}
			if anti {
				p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: term}}
			} else {
				p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: term}}
			}
		}
	}
	gpu := func(p *corev1.PodTemplateSpec) {
		p.Spec.Containers[0].Resources.Requests["nvidia.com/gpu"] = resource.MustParse("1")
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
		p.Spec.Tolerations = []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	}
	e.deploy("generic", 6, "500m")
	e.deploy("zone-spread", 6, "250m", spread(v1.LabelZone))
	e.deploy("host-spread", 4, "250m", spread(v1.LabelHostname))
	e.deploy("zone-affinity", 3, "250m", affinity(v1.LabelZone, false))
	e.deploy("host-anti", 3, "250m", affinity(v1.LabelHostname, true))
	e.deploy("gpu", 2, "1", gpu)
	const total = 24
	e.allBound(total)

	pods := e.pods()
	perNode := map[string]int{}
	zonesOf := map[string]map[string]int{}
	for _, p := range pods {
		perNode[p.Spec.NodeName]++
		n, err := lab.Kube.Client.CoreV1().Nodes().Get(e.ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		app := p.Labels["app"]
		if zonesOf[app] == nil {
			zonesOf[app] = map[string]int{}
		}
		zonesOf[app][n.Labels[v1.LabelZone]]++
	}
	for _, n := range e.nodes() {
		if perNode[n.Name] == 0 {
			t.Errorf("node %s (%s) was launched but holds none of the workload", n.Name, n.Labels[v1.LabelInstanceType])
		}
	}
	if len(zonesOf["zone-affinity"]) != 1 {
		t.Errorf("zone-affinity pods across zones %v, want one zone", zonesOf["zone-affinity"])
	}
	t.Logf("%d pods on %d nodes; zone spread %v", total, len(perNode), zonesOf["zone-spread"])
}
