package kubelet

import (
	"errors"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// bootConfig is what a node takes from its user data when it bootstraps, whichever of the
// two formats EKS nodes boot from carried it.
type bootConfig struct {
	Format      string // formatNodeadm or formatBottlerocket, for messages
	ClusterName string
	Endpoint    string // the API server URL
	CA          []byte // the certificate bundle, decoded from base64: PEM if well formed
	ServiceCIDR string // nodeadm's cluster cidr; Bottlerocket has none
	Labels      map[string]string
	Taints      []corev1.Taint
	MaxPods     int32 // 0: not set
	PodsPerCore int32 // 0: not set
	// SystemReserved and KubeReserved hold cpu, memory and ephemeral-storage; EvictionHard maps
	// a signal (memory.available, nodefs.available) to a quantity or a percentage.
	SystemReserved corev1.ResourceList
	KubeReserved   corev1.ResourceList
	EvictionHard   map[string]string
}

const (
	formatNodeadm      = "AL2023 nodeadm"
	formatBottlerocket = "Bottlerocket"
)

// noUserData is the refusal for an instance launched without bootstrap: on EKS nothing on it
// would ever start a kubelet.
const noUserData = "instance has no user data: a node without bootstrap never joins"

// readUserData reads decoded EC2 user data as the node's first-boot agent would: Bottlerocket's
// TOML settings, or nodeadm's NodeConfig, bare or in a MIME multi-part document.
func readUserData(userData string) (bootConfig, error) {
	if strings.TrimSpace(userData) == "" {
		return bootConfig{}, errors.New(noUserData)
	}
	if looksLikeTOML(userData) {
		return readBottlerocket(userData)
	}
	return readNodeadm([]byte(userData))
}

// tomlAssignment is a TOML key = value line. Base64 (which nodeadm also accepts) never matches:
// its only '=' is padding at the end of the text.
func tomlAssignment() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9_.\-"']+\s*=\s*[^=\s]`)
}

// looksLikeTOML tells Bottlerocket's settings from nodeadm's input by the first line that says
// anything: TOML opens with a [table] or a key = value, where YAML and MIME headers use "key:".
func looksLikeTOML(doc string) bool {
	for line := range strings.Lines(doc) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		return strings.HasPrefix(line, "[") || tomlAssignment().MatchString(line)
	}
	return false
}
