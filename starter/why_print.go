package starter

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"

	"github.com/nodewright/nodewright/workflows"
)

// listShown is how many entries of a list (pods, instance types) the table shows; -o wide
// shows them all.
const listShown = 8

// printNodeWhy writes why's answer for a node in the chosen format.
func printNodeWhy(w io.Writer, format outputFormat, why NodeWhy) error {
	if format == outputJSON || format == outputYAML {
		return writeStructured(w, format, why)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	wide := format == outputWide
	l, st := why.Launch, why.State
	fmt.Fprintf(tw, "Workflow:\t%s (%s)\n", why.WorkflowID, why.Status)
	fmt.Fprintf(tw, "Launched:\t%s, %s\n", timestamp(l.StartedAt), launchReason(l))
	fmt.Fprintf(tw, "NodeClaim:\t%s\n", orDash(l.Claim))
	fmt.Fprintf(tw, "NodePool:\t%s\n", orDash(l.NodePool))
	fmt.Fprintf(tw, "Pods planned:\t%s\n", list(l.Pods, wide))
	fmt.Fprintf(tw, "Requests:\t%s\n", resources(l.Requests))
	fmt.Fprintf(tw, "Types allowed:\t%d, cheapest first: %s\n", len(l.InstanceTypes), list(l.InstanceTypes, wide))
	fmt.Fprintf(tw, "Zones:\t%s\n", list(l.Zones, true))
	fmt.Fprintf(tw, "Capacity types:\t%s\n", list(l.CapacityTypes, true))
	fmt.Fprintf(tw, "Planned price:\t%s\n", perHour(l.PricePerHour))
	if len(l.Unavailable) > 0 {
		fmt.Fprintf(tw, "Left out:\t%s (no capacity when planned)\n", list(l.Unavailable, wide))
	}
	fmt.Fprintf(tw, "Launched as:\t%s %s %s %s at %s\n", orDash(st.InstanceID), orDash(st.InstanceType), orDash(st.Zone), orDash(st.CapacityType), perHour(st.PricePerHour))
	fmt.Fprintf(tw, "Node:\t%s\n", orDash(st.NodeName))
	fmt.Fprintf(tw, "Phase:\t%s\n", orDash(string(st.Phase)))
	if st.LastError != "" {
		fmt.Fprintf(tw, "Last error:\t%s\n", st.LastError)
	}
	writeDisruption(tw, st.Disruption)
	if d := why.Decision; d != nil {
		fmt.Fprintf(tw, "  decision\t%s %s %s of %s: %s\n", d.ID, d.Method, d.Reason, strings.Join(d.Nodes, ", "), orDash(d.Outcome))
	}
	return tw.Flush()
}

// launchReason says what the claim was made for.
func launchReason(l NodeLaunch) string {
	if l.Reason == reasonProvisioned {
		return fmt.Sprintf("provisioned for %d pending pod(s)", len(l.Pods))
	}
	return "replacement for a disruption (" + l.Reason + ")"
}

// list joins a list, the first listShown entries and a count of the rest unless all.
func list(items []string, all bool) string {
	if len(items) == 0 {
		return "-"
	}
	if all || len(items) <= listShown {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more (-o wide lists them)", strings.Join(items[:listShown], ", "), len(items)-listShown)
}

// resources writes a resource list as name=quantity, by name.
func resources(rl corev1.ResourceList) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(rl)) {
		q := rl[name]
		parts = append(parts, fmt.Sprintf("%s=%s", name, q.String()))
	}
	return list(parts, true)
}

// printPodWhy writes why's answer for a pod in the chosen format.
func printPodWhy(w io.Writer, format outputFormat, why PodWhy) error {
	if format == outputJSON || format == outputYAML {
		return writeStructured(w, format, why)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Pod:\t%s\n", why.Pod)
	fmt.Fprintf(tw, "Status:\t%s\n", podStatusLine(why))
	if why.Workflow != "" {
		fmt.Fprintf(tw, "NodeClaim:\t%s (workflow %s, %s)\n", orDash(why.Claim), why.Workflow, orDash(string(why.Phase)))
		fmt.Fprintf(tw, "NodePool:\t%s\n", orDash(why.NodePool))
	}
	if why.Reason != "" {
		fmt.Fprintf(tw, "Reason:\t%s\n", why.Reason)
	}
	if why.Source != "" {
		fmt.Fprintf(tw, "From:\t%s, %s\n", why.Source, timestampOr(why.At, "-"))
	}
	return tw.Flush()
}

// podStatusLine is the pod's status with where it runs or is headed.
func podStatusLine(why PodWhy) string {
	switch why.Status {
	case PodBound:
		if why.Workflow == "" {
			return "Bound to node " + why.Node + " (not a Nodewright node)"
		}
		return "Bound to node " + why.Node
	case PodNominated:
		return "Pending, nominated to claim " + why.Claim + " (" + workflows.NodeWorkflowID(why.Claim) + ")"
	case PodFinished:
		return "Finished"
	}
	return why.Status
}
