package bootstrap

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Cluster is what a node needs to find and trust the cluster's API server.
type Cluster struct {
	Name string
	// Endpoint is the API server's URL, https://….
	Endpoint string
	// CABundle is the cluster's CA certificate, PEM then base64, as EKS reports it.
	CABundle string
	// ServiceCIDR is the cluster's service address range; nodeadm derives the DNS address
	// from it when the kubelet settings name none.
	ServiceCIDR string
}

// Node is what one group of nodes registers with.
type Node struct {
	// Labels go to --node-labels; restricted ones are left out (see the package doc).
	Labels map[string]string
	// Taints are the taints the node registers with: the NodePool's taints and startup
	// taints, and karpenter.sh/unregistered, which the controller removes on registration.
	Taints []corev1.Taint
	// Kubelet is the EC2NodeClass's kubelet settings; nil leaves the AMI's defaults.
	Kubelet *awsv1.KubeletConfiguration
}

// Families of AMI whose user data this package writes.
const (
	FamilyAL2023       = "AL2023"
	FamilyBottlerocket = "Bottlerocket"
	// FamilyCustom boots from the class's userData alone, as Karpenter's Custom family does:
	// whoever wrote it joins the node to the cluster.
	FamilyCustom = "Custom"
)

// UserData writes the user data of family for the node, merged with the class's own.
func UserData(family string, c Cluster, n Node, custom *string) (string, error) {
	if family == FamilyCustom {
		if custom == nil || *custom == "" {
			return "", fmt.Errorf("amiFamily Custom needs spec.userData: nothing else would join the node to the cluster")
		}
		return *custom, nil
	}
	if err := c.validate(); err != nil {
		return "", err
	}
	switch family {
	case FamilyAL2023:
		return al2023(c, n, custom)
	case FamilyBottlerocket:
		return bottlerocket(c, n, custom)
	}
	return "", fmt.Errorf("AMI family %q: Nodewright writes user data for %s and %s (or takes a %s family's spec.userData as it is); use amiSelectorTerms [{alias: al2023@latest}]",
		family, FamilyAL2023, FamilyBottlerocket, FamilyCustom)
}

func (c Cluster) validate() error {
	var missing []string
	if c.Name == "" {
		missing = append(missing, "name (--cluster-name)")
	}
	if !strings.HasPrefix(c.Endpoint, "https://") {
		missing = append(missing, "an https endpoint (--cluster-endpoint)")
	}
	if c.CABundle == "" {
		missing = append(missing, "a CA bundle (--cluster-ca-bundle)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("the cluster's %s: nodes cannot join without it", strings.Join(missing, ", "))
	}
	return nil
}

// KubeletLabels are the labels a node may register with: restricted ones left out.
func KubeletLabels(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if !restricted(k) {
			out[k] = v
		}
	}
	return out
}

// restricted reports a label in the kubernetes.io or k8s.io domains, as Karpenter leaves out
// of user data: the kubelet refuses most of them, and the NodeRestriction admission plugin
// refuses node-restriction.kubernetes.io.
func restricted(key string) bool {
	domain, _, found := strings.Cut(key, "/")
	if !found {
		return false
	}
	for _, d := range []string{"kubernetes.io", "k8s.io"} {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// labelsFlag formats labels as the kubelet's --node-labels value, sorted.
func labelsFlag(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

// kubeletConfig is the class's kubelet settings as KubeletConfiguration fields, which
// awsv1.KubeletConfiguration's JSON names are.
func kubeletConfig(k *awsv1.KubeletConfiguration) (map[string]any, error) {
	out := map[string]any{}
	if k == nil {
		return out, nil
	}
	raw, err := json.Marshal(k)
	if err != nil {
		return nil, fmt.Errorf("encode spec.kubelet: %w", err)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decode spec.kubelet: %w", err)
	}
	return out, nil
}

// UnregisteredTaint is the taint every node registers with until the controller has
// matched it to its NodeClaim, so that nothing schedules onto a node Nodewright has not
// yet labelled.
func UnregisteredTaint() corev1.Taint {
	return corev1.Taint{Key: v1.TaintKeyUnregistered, Effect: corev1.TaintEffectNoExecute}
}

// MaxUserData is EC2's limit on an instance's user data, before base64.
const MaxUserData = 16 * 1024

// Check writes the class's user data for a stand-in cluster and node, so that a class whose
// user data can never be written, or is already over EC2's limit, is refused when it is
// applied rather than at every launch.
func Check(family string, kubelet *awsv1.KubeletConfiguration, custom *string) error {
	stand := Cluster{Name: "check", Endpoint: "https://check.invalid", CABundle: "Y2hlY2s=", ServiceCIDR: "10.100.0.0/16"}
	data, err := UserData(family, stand, Node{Kubelet: kubelet, Taints: []corev1.Taint{UnregisteredTaint()}}, custom)
	if err != nil {
		return err
	}
	return checkSize(data)
}

func checkSize(data string) error {
	if len(data) > MaxUserData {
		return fmt.Errorf("the user data would be %d bytes, over EC2's limit of %d; shorten spec.userData", len(data), MaxUserData)
	}
	return nil
}
