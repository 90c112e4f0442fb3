package dryrun

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/nodewright/nodewright/activities"
)

// shortList is how many pods and instance types a table names before it summarises; the wide
// table names them all.
const shortList = 10

// PrintTable writes the plan as a person reads it: the nodes to launch with their cost and
// the plan's lower bound, where each pod goes, and the pods that stay pending with the
// engine's reason per NodePool. Wide names every instance type and every pod.
func PrintTable(w io.Writer, sim activities.Simulation, wide bool) error {
	noun := "pods"
	if sim.Pods == 1 {
		noun = "pod"
	}
	fmt.Fprintf(w, "%d %s planned: %d on new nodes, %d on existing nodes, %d pending\n",
		sim.Pods, noun, sim.Pods-sim.OnExisting-sim.UnschedulableCount, sim.OnExisting, sim.UnschedulableCount)
	fmt.Fprintf(w, "nodes to launch: %d, %s/h (lower bound %s/h)\n\n", len(sim.Nodes)+sim.MoreNodes, dollars(sim.CostPerHour), dollars(sim.CostLowerBound))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(sim.Nodes) > 0 {
		fmt.Fprintln(tw, "NODE\tNODEPOOL\tINSTANCE-TYPE\tPRICE/h\tCAPACITY-TYPE\tZONES\tPODS\tALSO-ALLOWED")
		for i, c := range sim.Nodes {
			fmt.Fprintf(tw, "new-%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", i+1, c.NodePool, first(c.InstanceTypes), dollars(c.PricePerHour),
				strings.Join(c.CapacityTypes, ","), strings.Join(c.Zones, ","), len(c.Pods), listed(rest(c.InstanceTypes), wide))
		}
		fmt.Fprintln(tw)
	}
	more := 0
	if placed := placements(sim); len(placed) > 0 {
		fmt.Fprintln(tw, "POD\tGOES-TO")
		keys := slices.Sorted(maps.Keys(placed))
		for _, key := range cut(keys, wide) {
			fmt.Fprintf(tw, "%s\t%s\n", key, placed[key])
		}
		more = len(keys) - len(cut(keys, wide))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if more > 0 {
		fmt.Fprintf(w, "... %d more (-o wide lists them)\n", more)
	}
	if len(sim.Existing) > 0 || len(sim.Nodes) > 0 {
		fmt.Fprintln(w)
	}
	return printPending(w, sim)
}

// printPending writes each pending pod and why; reasons are long, so each has its own line.
func printPending(w io.Writer, sim activities.Simulation) error {
	if len(sim.Unschedulable) == 0 {
		return nil
	}
	fmt.Fprintln(w, "PENDING")
	for _, key := range slices.Sorted(maps.Keys(sim.Unschedulable)) {
		fmt.Fprintf(w, "%s: %s\n", key, sim.Unschedulable[key])
	}
	if n := sim.UnschedulableCount - len(sim.Unschedulable); n > 0 {
		fmt.Fprintf(w, "... %d more\n", n)
	}
	return nil
}

// placements maps each placed pod to its node: new-<i> (pool, cheapest type) or the
// existing node's name.
func placements(sim activities.Simulation) map[string]string {
	out := map[string]string{}
	for i, c := range sim.Nodes {
		for _, pod := range c.Pods {
			out[pod] = fmt.Sprintf("new-%d (%s, %s)", i+1, c.NodePool, first(c.InstanceTypes))
		}
	}
	for pod, node := range sim.Existing {
		out[pod] = node + " (existing)"
	}
	return out
}

func cut(keys []string, wide bool) []string {
	if wide || len(keys) <= shortList {
		return keys
	}
	return keys[:shortList]
}

// listed names the types, or the first few and how many more.
func listed(types []string, wide bool) string {
	if len(types) == 0 {
		return "-"
	}
	shown := cut(types, wide)
	out := strings.Join(shown, ",")
	if n := len(types) - len(shown); n > 0 {
		out += fmt.Sprintf(" +%d more", n)
	}
	return out
}

func first(types []string) string {
	if len(types) == 0 {
		return "-"
	}
	return types[0]
}

func rest(types []string) []string {
	if len(types) < 2 {
		return nil
	}
	return types[1:]
}

// dollars writes a price per hour as the starter's other tables do.
func dollars(p float64) string { return fmt.Sprintf("$%.4f", p) }
