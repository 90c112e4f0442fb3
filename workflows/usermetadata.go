package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nodewright/nodewright/activities"
)

// What the Temporal UI shows of each workflow without opening its history (the SDK's user
// metadata): a node workflow's static summary and details, fixed when it is started with
// what was planned, and every workflow's current details, kept up to date as it goes. The
// texts are short Temporal markdown and bounded whatever the state holds: lists show a few
// names and a count, free text is clipped.

const (
	// namesShown is how many pods, instance types or zones a text names before counting.
	namesShown = 3
	// maxFreeText bounds an error or an operator's reason in a text.
	maxFreeText = 160
	// clock is how times are shown: workflow time, to the second.
	clock = "15:04:05"
)

// nodeSummary is the one line the UI shows for a claim's node workflow from its start: the
// NodePool, the planned instance type (the cheapest allowed), capacity types, zones, the
// planned price and the pods it was planned for.
func nodeSummary(c activities.Claim) string {
	parts := []string{"**" + c.NodePool + "**", nameList(c.InstanceTypes, 1)}
	if len(c.CapacityTypes) > 0 {
		parts = append(parts, strings.Join(c.CapacityTypes, "/"))
	}
	if len(c.Zones) > 0 {
		parts = append(parts, nameList(c.Zones, 1))
	}
	parts = append(parts, perHour(c.PricePerHour)+" planned", countOf(len(c.Pods), "pod"))
	return strings.Join(parts, " · ")
}

// nodeStaticDetails is what the claim allowed, fixed at start: the types, zones and
// capacity types the launch may choose from, and a few of its pods.
func nodeStaticDetails(c activities.Claim, creationReason string) string {
	lines := []string{
		fmt.Sprintf("NodeClaim **%s** of NodePool **%s**", c.Name, c.NodePool),
		"- instance types: " + nameList(c.InstanceTypes, namesShown),
		"- zones: " + nameList(c.Zones, namesShown) + " · capacity types: " + nameList(c.CapacityTypes, namesShown),
		fmt.Sprintf("- planned %s for %s", perHour(c.PricePerHour), podList(c.Pods)),
	}
	if creationReason != "" {
		lines = append(lines, "- replacement for a node going: "+clipText(creationReason, maxFreeText))
	}
	return strings.Join(lines, "\n")
}

// nodeDetails is a node workflow's current details, the row `kubectl get nodeclaims -o wide`
// would print and a little more: phase and since when, instance type, zone, capacity type,
// price, node and instance, pods, and once it is going, why.
func nodeDetails(s NodeState) string {
	head := []string{"**" + string(s.Phase) + "**"}
	if n := len(s.Transitions); n > 0 {
		head[0] += " since " + clockOf(s.Transitions[n-1].At)
	}
	for _, v := range []string{s.InstanceType, s.Zone, s.CapacityType} {
		if v != "" {
			head = append(head, v)
		}
	}
	head = append(head, perHour(s.PricePerHour))
	lines := []string{strings.Join(head, " · ")}
	if s.NodeName != "" || s.InstanceID != "" {
		lines = append(lines, "- node "+orDash(s.NodeName)+" · instance "+orDash(s.InstanceID))
	}
	lines = append(lines, "- "+podList(s.Pods))
	if d := s.Disruption; d != nil {
		lines = append(lines, "- going: "+disruptionText(*d))
	}
	if len(s.PodsLeft) > 0 {
		lines = append(lines, "- drain waits for "+countOf(len(s.PodsLeft), "pod")+": "+nameList(slices.Sorted(maps.Keys(s.PodsLeft)), namesShown))
	}
	if s.LastError != "" {
		lines = append(lines, "- last error: "+clipText(s.LastError, maxFreeText))
	}
	return strings.Join(lines, "\n")
}

// disruptionText says why a node goes: "**Underutilized** (Disruption) · saves $0.0500/h ·
// replacement default-x2k9q".
func disruptionText(d Disruption) string {
	out := "**" + clipText(d.Reason, maxFreeText) + "** (" + d.Source + ")"
	if d.Savings > 0 {
		out += " · saves " + perHour(d.Savings)
	}
	if d.Replacement != "" {
		out += " · replacement " + d.Replacement
	}
	if d.Deadline != nil {
		out += " · pods deleted from " + clockOf(*d.Deadline)
	}
	return out
}

// perHour is a price in dollars per hour; "$?/h" when unknown.
func perHour(price float64) string {
	if price <= 0 {
		return "$?/h"
	}
	return fmt.Sprintf("$%.4f/h", price)
}

// countOf is "1 pod", "3 pods".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// podList is "3 pods: ns/a, ns/b, ns/c" with at most namesShown names.
func podList(pods []string) string {
	if len(pods) == 0 {
		return "no pods planned"
	}
	return countOf(len(pods), "pod") + ": " + nameList(pods, namesShown)
}

// nameList joins the first shown names and counts the rest: "a, b (+4)"; "-" when empty.
func nameList(names []string, shown int) string {
	if len(names) == 0 {
		return "-"
	}
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s (+%d)", strings.Join(names[:shown], ", "), len(names)-shown)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clockOf is a workflow time as the texts show it.
func clockOf(t time.Time) string {
	return t.UTC().Format(clock)
}

// provisionerDetails is the Provisioner's last decision: "**Last plan 11:32:05**: 12 pods →
// 3 claims, $0.4100/h; 2 pods unschedulable", then the claims, a few of the pods no node can
// take, with why, and the batches planned in all.
func provisionerDetails(s ProvisionerState) string {
	p := s.LastPlan
	if p == nil {
		return "No plan yet: waiting for pending pods"
	}
	if p.Error != "" {
		return fmt.Sprintf("**Last plan %s failed**: %s\n- the pods stay pending and are planned again", clockOf(p.At), clipText(p.Error, maxFreeText))
	}
	head := fmt.Sprintf("**Last plan %s**: %s → %s, %s", clockOf(p.At), countOf(p.Pods, "pod"), countOf(len(p.Claims), "claim"), perHour(p.PricePerHour))
	if unschedulable := max(p.UnschedulableCount, len(p.Unschedulable)); unschedulable > 0 {
		head += "; " + countOf(unschedulable, "pod") + " unschedulable"
	}
	lines := []string{head}
	if len(p.Claims) > 0 {
		lines = append(lines, "- claims: "+nameList(p.Claims, namesShown))
	}
	if p.Nominated > 0 {
		lines = append(lines, "- "+countOf(p.Nominated, "pod")+" left to claims in flight")
	}
	for i, key := range slices.Sorted(maps.Keys(p.Unschedulable)) {
		if i == namesShown {
			break
		}
		lines = append(lines, "- "+key+": "+clipText(p.Unschedulable[key], maxFreeText))
	}
	// Claims in flight are left out: signals change them between plans, the text only at one.
	lines = append(lines, fmt.Sprintf("- batches planned: %d", s.Batches))
	return strings.Join(lines, "\n")
}

// disruptionDetails is the disruption controller's last pass and last decision, and the kill
// switch when it is on: "**Last pass 11:32:05** (#123): 2 candidates passed over", "- last
// decision 11:30:00: **Underutilized** ip-a, saves $0.0500/h → Disrupted".
func disruptionDetails(s DisruptionState, lastPass time.Time) string {
	var lines []string
	if p := s.Pause; p != nil {
		pause := "**Paused** since " + clockOf(p.Since)
		if p.By != "" {
			pause += " by " + markdownText(p.By)
		}
		if p.Reason != "" {
			pause += ": " + markdownText(p.Reason)
		}
		if p.Withheld > 0 {
			pause += fmt.Sprintf(" · %s withheld, last %s", countOf(p.Withheld, "decision"), markdownText(clipText(p.LastWithheld, maxFreeText)))
		}
		lines = append(lines, pause)
	}
	if lastPass.IsZero() {
		lines = append(lines, "No pass yet in this run")
	} else {
		lines = append(lines, fmt.Sprintf("**Last pass %s** (#%d): %s passed over", clockOf(lastPass), s.Passes, countOf(len(s.LastSkipped), "candidate")))
	}
	if n := len(s.Recent); n > 0 {
		d := s.Recent[n-1]
		text := fmt.Sprintf("- last decision %s: **%s** %s", clockOf(d.At), d.Reason, nameList(d.Nodes, namesShown))
		if d.Savings > 0 {
			text += ", saves " + perHour(d.Savings)
		}
		if d.Replacement != "" {
			text += ", replacement " + d.Replacement
		}
		lines = append(lines, text+" → "+orDash(clipText(d.Outcome, maxFreeText)))
	}
	return strings.Join(lines, "\n")
}

// interruptionDetails is the interruption controller's last poll and its counts.
func interruptionDetails(s InterruptionState, lastPoll time.Time, messages int) string {
	lines := []string{fmt.Sprintf("**Last poll %s**: %s", clockOf(lastPoll), countOf(messages, "message"))}
	lines = append(lines, fmt.Sprintf("- since start: %d received, %d signalled to nodes, %d recorded, %d not ours, %d malformed, %d unsupported",
		s.Received, s.Signalled, s.Recorded, s.NotOurs, s.Malformed, s.Unsupported))
	if s.LastError != "" {
		lines = append(lines, "- last error: "+clipText(s.LastError, maxFreeText))
	}
	return strings.Join(lines, "\n")
}

// garbageDetails is the garbage collector's last look: what it reclaimed then and in all.
func garbageDetails(s GarbageCollectorState, reclaimed, signalled int) string {
	lines := []string{fmt.Sprintf("**Last look %s** (#%d): reclaimed %d, told %s their instance is gone",
		clockOf(s.LastLook), s.Looks, reclaimed, countOf(signalled, "node"))}
	lines = append(lines, fmt.Sprintf("- since start: %d reclaimed, %d nodes told", s.Reclaimed, s.VanishedSignalled))
	if len(s.Missing) > 0 {
		lines = append(lines, "- instances EC2 does not list yet: "+nameList(slices.Sorted(maps.Keys(s.Missing)), namesShown))
	}
	if s.Halted != "" {
		lines = append(lines, "- halted: "+clipText(s.Halted, maxFreeText))
	}
	if s.LastError != "" {
		lines = append(lines, "- last error: "+clipText(s.LastError, maxFreeText))
	}
	return strings.Join(lines, "\n")
}

// markdownText is text a signal's sender wrote, shown as itself in the UI's markdown: a
// pause reason must not become a link or an image, nor break the text around it.
func markdownText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]()#<>!|~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
