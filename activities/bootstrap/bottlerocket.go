package bootstrap

import (
	"fmt"
	"maps"
	"slices"

	toml "github.com/pelletier/go-toml/v2"
)

// bottlerocket writes Bottlerocket's TOML settings: the class's own settings, with the
// cluster's identity, labels, taints and kubelet settings set over them, as Karpenter does.
func bottlerocket(c Cluster, n Node, custom *string) (string, error) {
	doc := map[string]any{}
	if custom != nil && *custom != "" {
		if err := toml.Unmarshal([]byte(*custom), &doc); err != nil {
			return "", fmt.Errorf("spec.userData is not Bottlerocket TOML settings: %w", err)
		}
	}
	settings, err := table(doc, "settings")
	if err != nil {
		return "", err
	}
	kube, err := table(settings, "kubernetes")
	if err != nil {
		return "", err
	}
	kube["cluster-name"] = c.Name
	kube["api-server"] = c.Endpoint
	kube["cluster-certificate"] = c.CABundle
	if labels := KubeletLabels(n.Labels); len(labels) > 0 {
		into, err := table(kube, "node-labels")
		if err != nil {
			return "", err
		}
		maps.Copy(into, toAny(labels))
	}
	if len(n.Taints) > 0 {
		into, err := table(kube, "node-taints")
		if err != nil {
			return "", err
		}
		byKey := map[string][]string{}
		for _, t := range n.Taints {
			byKey[t.Key] = append(byKey[t.Key], t.Value+":"+string(t.Effect))
		}
		for _, key := range slices.Sorted(maps.Keys(byKey)) {
			into[key] = byKey[key]
		}
	}
	if err := bottlerocketKubelet(kube, n); err != nil {
		return "", err
	}
	out, err := toml.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("encode Bottlerocket settings: %w", err)
	}
	return string(out), nil
}

// bottlerocketKubelet maps the class's kubelet settings onto Bottlerocket's names.
func bottlerocketKubelet(kube map[string]any, n Node) error {
	k := n.Kubelet
	if k == nil {
		return nil
	}
	if k.PodsPerCore != nil {
		return fmt.Errorf("spec.kubelet.podsPerCore: Bottlerocket has no such setting; set maxPods instead")
	}
	if len(k.ClusterDNS) > 0 {
		kube["cluster-dns-ip"] = k.ClusterDNS
	}
	if k.MaxPods != nil {
		kube["max-pods"] = int64(*k.MaxPods)
	}
	for name, m := range map[string]map[string]string{
		"system-reserved": k.SystemReserved, "kube-reserved": k.KubeReserved,
		"eviction-hard": k.EvictionHard, "eviction-soft": k.EvictionSoft,
	} {
		if len(m) > 0 {
			kube[name] = toAny(m)
		}
	}
	if len(k.EvictionSoftGracePeriod) > 0 {
		periods := map[string]any{}
		for signal, d := range k.EvictionSoftGracePeriod {
			periods[signal] = d.Duration.String()
		}
		kube["eviction-soft-grace-period"] = periods
	}
	if k.EvictionMaxPodGracePeriod != nil {
		kube["eviction-max-pod-grace-period"] = int64(*k.EvictionMaxPodGracePeriod)
	}
	if k.ImageGCHighThresholdPercent != nil {
		kube["image-gc-high-threshold-percent"] = int64(*k.ImageGCHighThresholdPercent)
	}
	if k.ImageGCLowThresholdPercent != nil {
		kube["image-gc-low-threshold-percent"] = int64(*k.ImageGCLowThresholdPercent)
	}
	if k.CPUCFSQuota != nil {
		kube["cpu-cfs-quota-enforced"] = *k.CPUCFSQuota
	}
	return nil
}

// table returns doc[key] as a table, creating it when absent.
func table(doc map[string]any, key string) (map[string]any, error) {
	switch t := doc[key].(type) {
	case nil:
		out := map[string]any{}
		doc[key] = out
		return out, nil
	case map[string]any:
		return t, nil
	default:
		return nil, fmt.Errorf("spec.userData: %s is a %T, not a table", key, t)
	}
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
