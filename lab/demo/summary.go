package demo

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// PrintSummary writes the demo's closing report.
func PrintSummary(w io.Writer, r Result, kubeconfig string) error {
	fmt.Fprintln(w, "\nNodewright demo summary")
	fmt.Fprintf(w, "  all pods bound in:   %s (from applying the Deployment)\n", r.AllBoundIn.Round(100*time.Millisecond))
	fmt.Fprintf(w, "  drained node:        %s — instance %s terminated, Node deleted, workflow %s completed, pods rescheduled in %s\n",
		r.Drained.Name, r.Drained.InstanceID, r.Drained.WorkflowID, r.DrainedIn.Round(100*time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NODE\tINSTANCE\tTYPE\tZONE\tCAPACITY\t$/HOUR\tPODS")
	var total float64
	for _, n := range r.Nodes {
		name := n.Name
		if n.Name == r.Drained.Name {
			name += " (drained)"
		} else {
			total += n.PricePerHour
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%.4f\t%d\n", name, n.InstanceID, n.InstanceType, n.Zone, n.CapacityType, n.PricePerHour, n.Pods)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "  running cost now:    $%.4f/hour\n", total)
	if r.UIAddress != "" {
		fmt.Fprintf(w, "  Temporal UI:         %s/namespaces/default/workflows (node histories: WorkflowType=\"NodeLifecycleWorkflow\")\n", r.UIAddress)
	}
	fmt.Fprintf(w, "  kubectl:             kubectl --kubeconfig %s get nodepools,nodeclaims,nodes\n", kubeconfig)
	return nil
}
