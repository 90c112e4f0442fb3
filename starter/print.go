package starter

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/nodewright/nodewright/workflows"
)

// PrintNodes writes the nodes table: node, phase, instance type, zone, capacity type, hourly
// price, node pool, age, workflow.
func PrintNodes(w io.Writer, rows []NodeRow, now time.Time) error {
	return printNodeTable(w, rows, now, false)
}

// PrintNodesWide writes the nodes table with, after its columns, the instance id, the
// workflow's status (Running, or how it closed) and when it started.
func PrintNodesWide(w io.Writer, rows []NodeRow, now time.Time) error {
	return printNodeTable(w, rows, now, true)
}

func printNodeTable(w io.Writer, rows []NodeRow, now time.Time, wide bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "NODE\tPHASE\tINSTANCE-TYPE\tZONE\tCAPACITY-TYPE\tPRICE/h\tNODEPOOL\tAGE\tWORKFLOW"
	if wide {
		header += "\tINSTANCE-ID\tSTATUS\tSTARTED"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", orDash(r.NodeName), orDash(r.Phase),
			orDash(r.InstanceType), orDash(r.Zone), orDash(r.CapacityType), dollars(r.PricePerHour), orDash(r.NodePool),
			age(r.Started, now), orDash(r.WorkflowID))
		if wide {
			fmt.Fprintf(tw, "\t%s\t%s\t%s", orDash(r.InstanceID), statusName(r.Status), timestamp(r.Started))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// statusName is a workflow's status as the Temporal UI shows it; "-" when unknown.
func statusName(s enumspb.WorkflowExecutionStatus) string {
	if s == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		return "-"
	}
	return s.String()
}

// timestampOr is timestamp(*t), or none when t is nil.
func timestampOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return timestamp(*t)
}

// timestamp is a time in UTC, RFC 3339; "-" when unknown.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// PrintState writes a node's state as a person reads it.
func PrintState(w io.Writer, id string, st workflows.NodeState) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	writeState(tw, id, st)
	return tw.Flush()
}

// PrintStateWide writes a node's state with what PrintState leaves out: the zone id, the
// image, when it expires, the disruption that removes it and the pods its drain left.
func PrintStateWide(w io.Writer, id string, st workflows.NodeState) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	writeState(tw, id, st)
	fmt.Fprintf(tw, "Zone ID:\t%s\n", orDash(st.ZoneID))
	fmt.Fprintf(tw, "Image:\t%s\n", orDash(st.ImageID))
	fmt.Fprintf(tw, "Expires:\t%s\n", timestampOr(st.ExpiresAt, "never"))
	writeDisruption(tw, st.Disruption)
	fmt.Fprintf(tw, "Pods left:\t%d\n", len(st.PodsLeft))
	for _, pod := range slices.Sorted(maps.Keys(st.PodsLeft)) {
		fmt.Fprintf(tw, "  %s\t%s\n", pod, st.PodsLeft[pod])
	}
	return tw.Flush()
}

func writeState(tw io.Writer, id string, st workflows.NodeState) {
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
}

// writeDisruption writes who asked for the node to go, why, and its deadlines.
func writeDisruption(tw io.Writer, d *workflows.Disruption) {
	if d == nil {
		fmt.Fprintf(tw, "Disruption:\t-\n")
		return
	}
	fmt.Fprintf(tw, "Disruption:\t%s %s %s\n", d.Source, d.Reason, d.Detail)
	fmt.Fprintf(tw, "  requested\t%s\n", timestamp(d.RequestedAt))
	fmt.Fprintf(tw, "  starts\t%s\n", timestamp(d.StartsAt))
	fmt.Fprintf(tw, "  deadline\t%s\n", timestampOr(d.Deadline, "none (waits for PodDisruptionBudgets)"))
	if d.Replacement != "" || d.Savings > 0 {
		fmt.Fprintf(tw, "  replacement\t%s, saves %s\n", orDash(d.Replacement), perHour(d.Savings))
	}
}

// PrintDisruptionPause writes the line that says voluntary disruption is paused, since when,
// why and by whom; nothing when it is not paused.
func PrintDisruptionPause(w io.Writer, p *workflows.DisruptionPause) error {
	if p == nil {
		return nil
	}
	reason := p.Reason
	if reason == "" {
		reason = "no reason given"
	}
	line := fmt.Sprintf("disruption paused since %s (%s)", p.Since.UTC().Format(time.RFC3339), reason)
	if p.By != "" {
		line += " by " + p.By
	}
	if p.Withheld > 0 {
		line += fmt.Sprintf("; %d decisions withheld, the last %s", p.Withheld, p.LastWithheld)
	}
	_, err := fmt.Fprintln(w, line)
	return err
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
