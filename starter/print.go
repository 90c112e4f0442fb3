package starter

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nodewright/nodewright/workflows"
)

// PrintNodes writes the nodes table: node, phase, instance type, zone, capacity type, hourly
// price, node pool, age, workflow.
func PrintNodes(w io.Writer, rows []NodeRow, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tPHASE\tINSTANCE-TYPE\tZONE\tCAPACITY-TYPE\tPRICE/h\tNODEPOOL\tAGE\tWORKFLOW")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", orDash(r.NodeName), orDash(r.Phase),
			orDash(r.InstanceType), orDash(r.Zone), orDash(r.CapacityType), dollars(r.PricePerHour), orDash(r.NodePool),
			age(r.Started, now), orDash(r.WorkflowID))
	}
	return tw.Flush()
}

// PrintState writes a node's state as a person reads it.
func PrintState(w io.Writer, id string, st workflows.NodeState) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Workflow:\t%s\n", id)
	fmt.Fprintf(tw, "Phase:\t%s\n", orDash(string(st.Phase)))
	fmt.Fprintf(tw, "NodeClaim:\t%s\n", orDash(st.Claim))
	fmt.Fprintf(tw, "NodePool:\t%s\n", orDash(st.NodePool))
	fmt.Fprintf(tw, "Node:\t%s\n", orDash(st.NodeName))
	fmt.Fprintf(tw, "Instance:\t%s %s %s %s\n", orDash(st.InstanceID), orDash(st.InstanceType), orDash(st.Zone), orDash(st.CapacityType))
	fmt.Fprintf(tw, "Price:\t%s\n", perHour(st.PricePerHour))
	if st.DrainReason != "" {
		fmt.Fprintf(tw, "Drain reason:\t%s\n", st.DrainReason)
	}
	if st.LastError != "" {
		fmt.Fprintf(tw, "Last error:\t%s\n", st.LastError)
	}
	fmt.Fprintf(tw, "Planned pods:\t%s\n", orDash(strings.Join(st.Pods, ", ")))
	fmt.Fprintf(tw, "Transitions:\t%d\n", len(st.Transitions))
	for _, t := range st.Transitions {
		fmt.Fprintf(tw, "  %s\t%s\n", t.Phase, t.At.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// dollars is an hourly price as a person reads it; "-" when it is unknown (0).
func dollars(price float64) string {
	if price <= 0 {
		return "-"
	}
	return fmt.Sprintf("$%.4f", price)
}

// perHour is dollars per hour; "-" when the price is unknown.
func perHour(price float64) string {
	if price <= 0 {
		return "-"
	}
	return dollars(price) + "/h"
}

// age is kubectl's coarse age of something started at start; "-" when the start is unknown.
func age(start, now time.Time) string {
	if start.IsZero() {
		return "-"
	}
	d := max(now.Sub(start), 0) // a clock running behind the server's is not a negative age
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}
