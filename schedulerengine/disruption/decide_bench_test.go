package disruption

import (
	"fmt"
	"testing"
)

// BenchmarkDecideWhenNothingGoes is a pass over a full cluster: every node holds two pods of
// 1.5 CPU on 4, so no node's pods fit elsewhere or on a cheaper node, and every candidate is
// simulated in vain, the most a pass costs. The nodes carry the beta labels a kubelet still
// sets beside the GA ones.
func BenchmarkDecideWhenNothingGoes(b *testing.B) {
	for _, nodes := range []int{100, 500} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			var all []Node
			for i := range nodes {
				name := fmt.Sprintf("n%04d", i)
				n := node(name, 4, pod(name+"-a", "1500m"), pod(name+"-b", "1500m"))
				n.Labels["beta.kubernetes.io/arch"], n.Labels["beta.kubernetes.io/os"] = "amd64", "linux"
				n.Labels["failure-domain.beta.kubernetes.io/zone"] = n.Labels["topology.kubernetes.io/zone"]
				all = append(all, n)
			}
			s := snapshot(all...)
			b.ReportAllocs()
			for b.Loop() {
				if cmd, _ := Decide(s); cmd != nil {
					b.Fatalf("Decide = %+v, want nothing to do", cmd)
				}
			}
		})
	}
}
