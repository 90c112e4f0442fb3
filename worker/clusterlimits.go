package worker

import (
	"errors"
	"flag"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// clusterLimitSettings are the cluster-wide limits as the flags (or the environment) spell
// them, for clusters without a ClusterPolicy and for the fields a ClusterPolicy leaves out;
// empty means no limit.
type clusterLimitSettings struct {
	cpu, memory, nodes, maxHourlyCost string
}

func clusterLimitFlags(fs *flag.FlagSet, getenv func(string) string) *clusterLimitSettings {
	s := &clusterLimitSettings{}
	fs.StringVar(&s.cpu, "cluster-limit-cpu", getenv("CLUSTER_LIMIT_CPU"), "cap on the summed cpu of every NodePool's nodes, as a quantity (\"256\", \"1000m\"); empty for none (env CLUSTER_LIMIT_CPU)")
	fs.StringVar(&s.memory, "cluster-limit-memory", getenv("CLUSTER_LIMIT_MEMORY"), "cap on the summed memory of every NodePool's nodes (\"1Ti\"); empty for none (env CLUSTER_LIMIT_MEMORY)")
	fs.StringVar(&s.nodes, "cluster-limit-nodes", getenv("CLUSTER_LIMIT_NODES"), "cap on the number of every NodePool's nodes; empty for none (env CLUSTER_LIMIT_NODES)")
	fs.StringVar(&s.maxHourlyCost, "max-hourly-cost", getenv("MAX_HOURLY_COST"), "cap, in dollars per hour (\"25.00\"), on the summed price of every NodePool's nodes; empty for none (env MAX_HOURLY_COST)")
	return s
}

// parse reads the settings, naming the flag of each one that cannot be read.
func (s *clusterLimitSettings) parse() (schedulerengine.ClusterLimits, error) {
	var out schedulerengine.ClusterLimits
	var errs []error
	for _, q := range []struct {
		flag, value string
		name        corev1.ResourceName
	}{
		{"--cluster-limit-cpu", s.cpu, corev1.ResourceCPU},
		{"--cluster-limit-memory", s.memory, corev1.ResourceMemory},
		{"--cluster-limit-nodes", s.nodes, "nodes"},
	} {
		if q.value == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.value)
		if err != nil || v.Sign() < 0 {
			errs = append(errs, fmt.Errorf("%s %q is not a non-negative quantity such as \"256\" or \"1Ti\"; leave it empty for no limit", q.flag, q.value))
			continue
		}
		if out.Resources == nil {
			out.Resources = corev1.ResourceList{}
		}
		out.Resources[q.name] = v
	}
	if s.maxHourlyCost != "" {
		v, err := apisv1.ParseHourlyCost(s.maxHourlyCost)
		if err != nil {
			errs = append(errs, fmt.Errorf("--max-hourly-cost: %w", err))
		} else {
			out.MaxHourlyCost = &v
		}
	}
	return out, errors.Join(errs...)
}
