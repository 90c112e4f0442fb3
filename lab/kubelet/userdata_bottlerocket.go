package kubelet

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	corev1 "k8s.io/api/core/v1"
)

// bottlerocketSettings is the part of Bottlerocket's TOML settings the stand-in reads; the
// other settings (host containers, kernel, …) change nothing it models.
type bottlerocketSettings struct {
	Settings struct {
		Kubernetes struct {
			ClusterName        string            `toml:"cluster-name"`
			APIServer          string            `toml:"api-server"`
			ClusterCertificate string            `toml:"cluster-certificate"` // base64 of the PEM bundle
			MaxPods            int32             `toml:"max-pods"`
			NodeLabels         map[string]string `toml:"node-labels"`
			// NodeTaints maps a key to "value:Effect" or a list of them.
			NodeTaints     map[string]any    `toml:"node-taints"`
			SystemReserved map[string]string `toml:"system-reserved"`
			KubeReserved   map[string]string `toml:"kube-reserved"`
			EvictionHard   map[string]string `toml:"eviction-hard"`
		} `toml:"kubernetes"`
	} `toml:"settings"`
}

// readBottlerocket reads Bottlerocket's user data: TOML settings, which its API applies at
// first boot before rendering the kubelet's config and flags from them.
func readBottlerocket(userData string) (bootConfig, error) {
	var s bottlerocketSettings
	if err := toml.Unmarshal([]byte(userData), &s); err != nil {
		return bootConfig{}, fmt.Errorf("%s user data: decode TOML settings: %w", formatBottlerocket, err)
	}
	k := s.Settings.Kubernetes
	cfg := bootConfig{
		Format:       formatBottlerocket,
		ClusterName:  k.ClusterName,
		Endpoint:     k.APIServer,
		Labels:       k.NodeLabels,
		MaxPods:      k.MaxPods,
		EvictionHard: k.EvictionHard,
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	var err error
	if cfg.Taints, err = bottlerocketTaints(k.NodeTaints); err != nil {
		return bootConfig{}, fmt.Errorf("%s user data: settings.kubernetes.node-taints: %w", formatBottlerocket, err)
	}
	if cfg.CA, err = decodeCA(k.ClusterCertificate); err != nil {
		return bootConfig{}, fmt.Errorf("%s user data: settings.kubernetes.cluster-certificate: %w", formatBottlerocket, err)
	}
	if cfg.SystemReserved, err = reservedResources(k.SystemReserved); err != nil {
		return bootConfig{}, fmt.Errorf("%s user data: settings.kubernetes.system-reserved: %w", formatBottlerocket, err)
	}
	if cfg.KubeReserved, err = reservedResources(k.KubeReserved); err != nil {
		return bootConfig{}, fmt.Errorf("%s user data: settings.kubernetes.kube-reserved: %w", formatBottlerocket, err)
	}
	if err := checkEvictionThresholds(cfg.EvictionHard); err != nil {
		return bootConfig{}, fmt.Errorf("%s user data: settings.kubernetes.eviction-hard: %w", formatBottlerocket, err)
	}
	return cfg, nil
}

// bottlerocketTaints reads node-taints, key = "value:Effect" or key = ["value:Effect", …], in
// key order so that the same settings always give the same Node.
func bottlerocketTaints(table map[string]any) ([]corev1.Taint, error) {
	var out []corev1.Taint
	for _, key := range slices.Sorted(maps.Keys(table)) {
		var specs []string
		switch v := table[key].(type) {
		case string:
			specs = []string{v}
		case []any:
			for _, item := range v {
				s, ok := item.(string)
				if !ok {
					return nil, fmt.Errorf("taint %s: %v is not a \"value:Effect\" string", key, item)
				}
				specs = append(specs, s)
			}
		default:
			return nil, fmt.Errorf("taint %s: %v is neither \"value:Effect\" nor a list of them", key, v)
		}
		for _, spec := range specs {
			i := strings.LastIndex(spec, ":")
			if i < 0 {
				return nil, fmt.Errorf("taint %s = %q has no :Effect", key, spec)
			}
			out = append(out, corev1.Taint{Key: key, Value: spec[:i], Effect: corev1.TaintEffect(spec[i+1:])})
		}
	}
	return out, nil
}
