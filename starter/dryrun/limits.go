package dryrun

import (
	"fmt"

	"github.com/nodewright/nodewright/apis/v1alpha1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/starter/advise"
	"github.com/nodewright/nodewright/worker/clusterpolicy"
)

// clusterLimits are the cluster-wide limits the worker would plan within: the ClusterPolicy
// named default, a file's over the cluster's, read as the worker reads it. Policies of other
// names are ignored, as the worker ignores them. The worker's flags fill in what the policy
// leaves out; a dry run does not know them, and a warning says so.
func clusterLimits(in Input) (schedulerengine.ClusterLimits, []string, error) {
	var warnings []string
	var policy *v1alpha1.ClusterPolicy
	from := ""
	for _, source := range []struct {
		name string
		snap *advise.Snapshot
	}{{"the cluster", in.Cluster}, {"the files", &in.Files}} {
		if source.snap == nil {
			continue
		}
		for i := range source.snap.ClusterPolicies {
			p := &source.snap.ClusterPolicies[i]
			if p.Name != v1alpha1.DefaultName {
				warnings = append(warnings, fmt.Sprintf("ClusterPolicy %s (in %s) is ignored, as the worker ignores every one not named %s", p.Name, source.name, v1alpha1.DefaultName))
				continue
			}
			policy, from = p, source.name
		}
	}
	if policy == nil {
		return schedulerengine.ClusterLimits{}, warnings, nil
	}
	limits, err := clusterpolicy.Limits(policy.Spec, schedulerengine.ClusterLimits{})
	if err != nil {
		return schedulerengine.ClusterLimits{}, warnings, fmt.Errorf("plan: ClusterPolicy %s (in %s): %w", policy.Name, from, err)
	}
	warnings = append(warnings, fmt.Sprintf("planned within ClusterPolicy %s (in %s); a limit it leaves out may be set by the worker's --cluster-limit-* or --max-hourly-cost flags, which a dry run does not know", policy.Name, from))
	return limits, warnings, nil
}
