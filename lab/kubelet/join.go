package kubelet

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	kubeletapis "k8s.io/kubelet/pkg/apis"
)

// Cluster is what a node must be told to join the lab cluster. The zero Cluster skips the
// identity checks (tests of the stand-in alone); user data is still required.
type Cluster struct {
	Name     string
	Endpoint string // the API server URL
	CA       []byte // the cluster CA certificate, PEM
	// Admits says whether a node running with the instance profile may join: on EKS, its role
	// needs an access entry. Nil admits any profile, but a machine without one never joins.
	Admits func(instanceProfile string) error
}

// IsZero reports whether no cluster identity was given.
func (c Cluster) IsZero() bool {
	return c.Name == "" && c.Endpoint == "" && len(c.CA) == 0 && c.Admits == nil
}

// checkIdentity refuses a machine whose kubelet could not authenticate to the cluster.
func checkIdentity(m Machine, c Cluster) error {
	if m.InstanceProfile == "" {
		return fmt.Errorf("instance has no instance profile: its kubelet has no IAM identity to authenticate to the cluster with")
	}
	if c.Admits == nil {
		return nil
	}
	return c.Admits(m.InstanceProfile)
}

// RefusedError is Boot's answer for a machine that would not become a node on EKS: its user
// data does not bootstrap, or bootstraps a kubelet that exits or cannot reach the cluster. No
// Node is registered.
type RefusedError struct {
	InstanceID string
	Err        error // why, in the words of the component that would fail
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("instance %s never joins the cluster: %v", e.InstanceID, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// IsRefused reports whether err is a machine refused as a real node would refuse to join.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// checkJoin checks, in the order a booting node meets them, that the bootstrap agent has what
// it needs, that the kubelet it configures starts (its labels and taints are accepted), and that
// the kubelet then reaches and trusts this cluster.
func checkJoin(cfg bootConfig, c Cluster) error {
	if err := checkBootstrap(cfg); err != nil {
		return err
	}
	if err := checkNodeLabels(cfg.Labels); err != nil {
		return err
	}
	if err := checkTaints(cfg.Taints); err != nil {
		return err
	}
	return checkCluster(cfg, c)
}

// checkBootstrap: without the cluster's name, API server and CA bundle no kubelet is started.
func checkBootstrap(cfg bootConfig) error {
	switch {
	case cfg.ClusterName == "":
		return fmt.Errorf("%s user data has no cluster name", cfg.Format)
	case cfg.Endpoint == "":
		return fmt.Errorf("%s user data has no API server endpoint", cfg.Format)
	case len(cfg.CA) == 0:
		return fmt.Errorf("%s user data has no cluster certificate authority", cfg.Format)
	case cfg.Format == formatNodeadm && cfg.ServiceCIDR == "":
		return fmt.Errorf("%s user data has no cluster cidr: nodeadm stops with \"CIDR is missing in cluster configuration\"", cfg.Format)
	}
	return nil
}

// checkCluster: with another cluster's details a node authenticates to the wrong cluster, dials
// the wrong server or trusts the wrong CA.
func checkCluster(cfg bootConfig, c Cluster) error {
	if c.IsZero() {
		return nil
	}
	if cfg.ClusterName != c.Name {
		return fmt.Errorf("%s user data names cluster %q, not the lab cluster %q", cfg.Format, cfg.ClusterName, c.Name)
	}
	if strings.TrimSuffix(cfg.Endpoint, "/") != strings.TrimSuffix(c.Endpoint, "/") {
		return fmt.Errorf("%s user data points at API server %q, not the lab API server %q", cfg.Format, cfg.Endpoint, c.Endpoint)
	}
	return checkCA(cfg, c)
}

// checkCA: the bundle must be PEM certificates, one of them the cluster's CA, or the kubelet
// cannot verify the API server.
func checkCA(cfg bootConfig, c Cluster) error {
	want, _ := pem.Decode(c.CA)
	var certs int
	rest := cfg.CA
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		certs++
		if want != nil && bytes.Equal(block.Bytes, want.Bytes) {
			return nil
		}
	}
	if certs == 0 {
		return fmt.Errorf("%s user data's certificate authority is not a PEM certificate bundle", cfg.Format)
	}
	return fmt.Errorf("%s user data's certificate authority is not the lab cluster's CA", cfg.Format)
}

// checkNodeLabels refuses what the kubelet refuses in --node-labels, where it exits at once:
// labels in the kubernetes.io and k8s.io domains that kubelets may not set on themselves (the
// NodeRestriction admission plugin would reject them), and malformed keys or values.
func checkNodeLabels(labels map[string]string) error {
	var unknown, invalid []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if isKubernetesLabel(k) && !kubeletapis.IsKubeletLabel(k) {
			unknown = append(unknown, k)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			invalid = append(invalid, fmt.Sprintf("'%s' - %s", k, strings.Join(errs, ", ")))
		}
		if errs := validation.IsValidLabelValue(labels[k]); len(errs) > 0 {
			invalid = append(invalid, fmt.Sprintf("'%s' - %s", labels[k], strings.Join(errs, ", ")))
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: %v (allowed: %s and anything under %s)",
			unknown, strings.Join(kubeletapis.KubeletLabels(), ", "), strings.Join(kubeletapis.KubeletLabelNamespaces(), ", "))
	}
	if len(invalid) > 0 {
		return fmt.Errorf("invalid node labels: %s", strings.Join(invalid, "; "))
	}
	return nil
}

// isKubernetesLabel is the kubelet's test for a label in the kubernetes.io or k8s.io domains,
// subdomains included.
func isKubernetesLabel(key string) bool {
	domain, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	for _, reserved := range []string{"kubernetes.io", "k8s.io"} {
		if domain == reserved || strings.HasSuffix(domain, "."+reserved) {
			return true
		}
	}
	return false
}

// checkTaints refuses taints the kubelet or the API server would: malformed keys or values, an
// effect other than NoSchedule, PreferNoSchedule and NoExecute, or one key and effect twice.
func checkTaints(taints []corev1.Taint) error {
	seen := map[string]bool{}
	for _, t := range taints {
		if errs := validation.IsQualifiedName(t.Key); len(errs) > 0 {
			return fmt.Errorf("invalid taint %s: key %s", t.ToString(), strings.Join(errs, ", "))
		}
		if errs := validation.IsValidLabelValue(t.Value); len(errs) > 0 {
			return fmt.Errorf("invalid taint %s: value %s", t.ToString(), strings.Join(errs, ", "))
		}
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return fmt.Errorf("invalid taint %s: effect %q is not NoSchedule, PreferNoSchedule or NoExecute", t.ToString(), t.Effect)
		}
		id := t.Key + ":" + string(t.Effect)
		if seen[id] {
			return fmt.Errorf("invalid taints: %s appears twice with effect %s", t.Key, t.Effect)
		}
		seen[id] = true
	}
	return nil
}
