package activities

import (
	"context"
	"maps"
	"slices"

	"go.temporal.io/sdk/activity"
)

// Drain steps shown in DrainProgress.Step.
const (
	drainStepEvicting = "evicting"
	drainStepVolumes  = "waiting for volume attachments"
)

// DrainProgress is the drain's heartbeat detail: what an operator inspecting the pending
// activity sees, and what a retried attempt resumes from so that a worker restart keeps
// its counts. Everything in it is bounded by the pods and volumes of one node.
type DrainProgress struct {
	NodeName string `json:"nodeName"`
	Step     string `json:"step"`
	// Tier is the eviction tier in progress, 1 to 4; 0 once every tier is empty.
	Tier     int    `json:"tier"`
	TierName string `json:"tierName,omitempty"`
	// PodsLeft are the keys of the pods still to go, in every tier.
	PodsLeft []string `json:"podsLeft,omitempty"`
	// PDBRefusals counts each pod's evictions refused in a row by a PodDisruptionBudget;
	// its backoff grows from this count.
	PDBRefusals map[string]int `json:"pdbRefusals,omitempty"`
	// FailedEvictions are the pods whose evictions the API server failed in a row (a 500, a
	// timeout): how many times and the last error. Their backoff grows from the count.
	FailedEvictions map[string]FailedEviction `json:"failedEvictions,omitempty"`
	Evicted         []string                  `json:"evicted,omitempty"`
	Deleted         []string                  `json:"deleted,omitempty"`
	Blocked         map[string]string         `json:"blocked,omitempty"`
	// VolumeAttachments are the names of those the drain has waited on.
	VolumeAttachments []string `json:"volumeAttachments,omitempty"`
}

// FailedEviction is one pod's run of failed evictions.
type FailedEviction struct {
	Count int    `json:"count"`
	Error string `json:"error"`
}

// maxEvictionErrorLength bounds an error kept in the heartbeat.
const maxEvictionErrorLength = 256

// resumeDrainProgress picks up the previous attempt's progress for the same node, or
// starts afresh.
func resumeDrainProgress(ctx context.Context, nodeName string) DrainProgress {
	fresh := DrainProgress{NodeName: nodeName, Step: drainStepEvicting}
	if !activity.HasHeartbeatDetails(ctx) {
		return fresh
	}
	var prev DrainProgress
	if err := activity.GetHeartbeatDetails(ctx, &prev); err != nil || prev.NodeName != nodeName {
		activity.GetLogger(ctx).Warn("ignoring the previous attempt's drain progress", "node", nodeName, "error", err, "progressNode", prev.NodeName)
		return fresh
	}
	return prev
}

func (p *DrainProgress) heartbeat(ctx context.Context) {
	activity.RecordHeartbeat(ctx, *p)
}

// result turns the progress into the activity's answer.
func (p *DrainProgress) result(skipped []string, completed bool) DrainResult {
	r := DrainResult{
		Evicted:                 slices.Sorted(slices.Values(p.Evicted)),
		Deleted:                 slices.Sorted(slices.Values(p.Deleted)),
		Skipped:                 skipped,
		Completed:               completed,
		VolumeAttachmentsWaited: len(p.VolumeAttachments),
	}
	if len(p.Blocked) > 0 {
		r.Blocked = maps.Clone(p.Blocked)
	}
	return r
}

func (p *DrainProgress) block(key, why string) {
	if p.Blocked == nil {
		p.Blocked = map[string]string{}
	}
	p.Blocked[key] = why
}

// refused counts one more PDB refusal and returns the count.
func (p *DrainProgress) refused(key string) int {
	if p.PDBRefusals == nil {
		p.PDBRefusals = map[string]int{}
	}
	p.PDBRefusals[key]++
	return p.PDBRefusals[key]
}

// evictionFailed counts one more failed eviction, keeps its error and returns the count.
func (p *DrainProgress) evictionFailed(key string, err error) int {
	if p.FailedEvictions == nil {
		p.FailedEvictions = map[string]FailedEviction{}
	}
	msg := err.Error()
	if r := []rune(msg); len(r) > maxEvictionErrorLength {
		msg = string(r[:maxEvictionErrorLength]) + "…"
	}
	f := FailedEviction{Count: p.FailedEvictions[key].Count + 1, Error: msg}
	p.FailedEvictions[key] = f
	return f.Count
}

// forget drops the per-pod state of pods no longer on the node, so that it cannot grow
// with a long drain; why a pod deleted at the deadline was blocked stays reported.
func (p *DrainProgress) forget(onNode map[string]bool) {
	maps.DeleteFunc(p.PDBRefusals, func(key string, _ int) bool { return !onNode[key] })
	maps.DeleteFunc(p.FailedEvictions, func(key string, _ FailedEviction) bool { return !onNode[key] })
	maps.DeleteFunc(p.Blocked, func(key, _ string) bool { return !onNode[key] && !slices.Contains(p.Deleted, key) })
}

// addUnique appends key unless the list has it already.
func addUnique(keys []string, key string) []string {
	if slices.Contains(keys, key) {
		return keys
	}
	return append(keys, key)
}
