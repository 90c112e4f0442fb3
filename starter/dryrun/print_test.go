package dryrun

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/activities"
)

func TestPrintTable(t *testing.T) {
	var pods []string
	for i := range 12 {
		pods = append(pods, fmt.Sprintf("shop/web-%02d", i))
	}
	sim := activities.Simulation{
		Pods: 14, OnExisting: 1, UnschedulableCount: 1, CostPerHour: 0.192, CostLowerBound: 0.18,
		Nodes: []activities.Claim{{NodePool: "general", InstanceTypes: []string{"m5.large", "m5.xlarge"}, PricePerHour: 0.192,
			CapacityTypes: []string{"on-demand"}, Zones: []string{"us-east-1a"}, Pods: pods}},
		Existing:      map[string]string{"shop/cache-0": "ip-10-0-0-1"},
		Unschedulable: map[string]string{"shop/huge-0": `no instance type in NodePool "general" has cpu >= 500`},
	}
	tests := []struct {
		name        string
		wide        bool
		want, avoid []string
	}{
		{"the table summarises a long list of pods", false,
			[]string{"nodes to launch: 1, $0.1920/h (lower bound $0.1800/h)", "new-1 general m5.large", "m5.xlarge",
				"shop/cache-0 ip-10-0-0-1 (existing)", "shop/web-00 new-1 (general, m5.large)", "... 3 more (-o wide lists them)",
				`shop/huge-0: no instance type in NodePool "general" has cpu >= 500`},
			[]string{"shop/web-11"}},
		{"the wide table names every pod", true,
			[]string{"shop/web-11", "new-1 (general, m5.large)"}, []string{"more (-o wide"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := PrintTable(&out, sim, tt.wide); err != nil {
				t.Fatal(err)
			}
			table := strings.Join(strings.Fields(out.String()), " ") // columns' widths aside
			for _, w := range tt.want {
				if !strings.Contains(table, w) {
					t.Errorf("table lacks %q:\n%s", w, out.String())
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(out.String(), a) {
					t.Errorf("table has %q:\n%s", a, out.String())
				}
			}
		})
	}
}
