package kubelet

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/cert"
)

func TestCheckJoin(t *testing.T) {
	lab := Cluster{Name: "lab", Endpoint: "https://127.0.0.1:6443", CA: newCA(t)}
	other := newCA(t)
	tests := []struct {
		name    string
		cfg     bootConfig
		cluster Cluster
		wantErr string // "" when the node joins
	}{
		{name: "user data for the lab cluster joins", cfg: boot(withCluster(lab)), cluster: lab},
		{name: "an endpoint with a trailing slash is the same server", cfg: boot(withCluster(lab), withEndpoint(lab.Endpoint+"/")), cluster: lab},
		{name: "a CA bundle holding the lab CA among others is trusted", cfg: boot(withCluster(lab), withCA(append(other, lab.CA...))), cluster: lab},
		{name: "with no cluster given, any complete user data joins", cfg: boot(), cluster: Cluster{}},

		{name: "no cluster name", cfg: boot(withCluster(lab), withName("")), cluster: lab, wantErr: "AL2023 nodeadm user data has no cluster name"},
		{name: "no API server endpoint", cfg: boot(withCluster(lab), withEndpoint("")), cluster: lab, wantErr: "has no API server endpoint"},
		{name: "no certificate authority", cfg: boot(withCluster(lab), withCA(nil)), cluster: lab, wantErr: "has no cluster certificate authority"},
		{name: "no service cidr", cfg: boot(withCluster(lab), func(c *bootConfig) { c.ServiceCIDR = "" }), cluster: lab, wantErr: "CIDR is missing"},
		{name: "no cluster name is refused even with no cluster given", cfg: boot(withName("")), cluster: Cluster{}, wantErr: "has no cluster name"},
		{name: "another cluster's name", cfg: boot(withCluster(lab), withName("prod")), cluster: lab, wantErr: `names cluster "prod", not the lab cluster "lab"`},
		{name: "another API server", cfg: boot(withCluster(lab), withEndpoint("https://prod.eks.amazonaws.com")), cluster: lab, wantErr: `points at API server "https://prod.eks.amazonaws.com", not the lab API server`},
		{name: "a CA bundle that is not PEM", cfg: boot(withCluster(lab), withCA([]byte("ca-bundle\n"))), cluster: lab, wantErr: "certificate authority is not a PEM certificate bundle"},
		{name: "another cluster's CA", cfg: boot(withCluster(lab), withCA(other)), cluster: lab, wantErr: "certificate authority is not the lab cluster's CA"},

		{name: "labels the kubelet may set itself", cluster: lab, cfg: boot(withCluster(lab), withLabels(
			"node.kubernetes.io/instance-type", "m5.large", "kubelet.kubernetes.io/x", "y", "team.node.kubernetes.io/a", "b",
			"topology.kubernetes.io/zone", "us-east-1a", "kubernetes.io/arch", "amd64", "karpenter.sh/nodepool", "default"))},
		{name: "a kubernetes.io label outside the kubelet's set", cfg: boot(withCluster(lab), withLabels("kubernetes.io/role", "web")), cluster: lab,
			wantErr: "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [kubernetes.io/role]"},
		{name: "a label in a kubernetes.io subdomain", cfg: boot(withCluster(lab), withLabels("node-role.kubernetes.io/worker", "")), cluster: lab,
			wantErr: "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [node-role.kubernetes.io/worker]"},
		{name: "a label in a k8s.io subdomain", cfg: boot(withCluster(lab), withLabels("example.k8s.io/x", "y")), cluster: lab,
			wantErr: "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [example.k8s.io/x]"},
		{name: "a node-restriction.kubernetes.io label", cfg: boot(withCluster(lab), withLabels("node-restriction.kubernetes.io/pool", "a")), cluster: lab,
			wantErr: "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [node-restriction.kubernetes.io/pool]"},
		{name: "a label key that is not a qualified name", cfg: boot(withCluster(lab), withLabels("bad key", "x")), cluster: lab, wantErr: "invalid node labels: 'bad key'"},
		{name: "a label value that is not a label value", cfg: boot(withCluster(lab), withLabels("team", "a b")), cluster: lab, wantErr: "invalid node labels: 'a b'"},

		{name: "a taint with an unknown effect", cfg: boot(withCluster(lab), withTaints(corev1.Taint{Key: "a", Effect: "Sometimes"})), cluster: lab,
			wantErr: `effect "Sometimes" is not NoSchedule, PreferNoSchedule or NoExecute`},
		{name: "a taint without effect", cfg: boot(withCluster(lab), withTaints(corev1.Taint{Key: "a"})), cluster: lab, wantErr: `effect "" is not`},
		{name: "a taint key that is not a qualified name", cfg: boot(withCluster(lab), withTaints(corev1.Taint{Key: "-a", Effect: corev1.TaintEffectNoSchedule})), cluster: lab,
			wantErr: "invalid taint -a:NoSchedule: key"},
		{name: "one taint key and effect twice", cluster: lab, cfg: boot(withCluster(lab), withTaints(
			corev1.Taint{Key: "a", Value: "1", Effect: corev1.TaintEffectNoSchedule}, corev1.Taint{Key: "a", Value: "2", Effect: corev1.TaintEffectNoSchedule})),
			wantErr: "a appears twice with effect NoSchedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkJoin(tt.cfg, tt.cluster)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("node refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("checkJoin error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// newCA is a fresh self-signed certificate bundle, PEM.
func newCA(t *testing.T) []byte {
	t.Helper()
	pem, _, err := cert.GenerateSelfSignedCertKey("lab-ca", nil, nil)
	if err != nil {
		t.Fatalf("generate CA: %v", err)
	}
	return pem
}

func withCluster(c Cluster) func(*bootConfig) {
	return func(b *bootConfig) { b.ClusterName, b.Endpoint, b.CA = c.Name, c.Endpoint, c.CA }
}

func withName(n string) func(*bootConfig)     { return func(b *bootConfig) { b.ClusterName = n } }
func withEndpoint(e string) func(*bootConfig) { return func(b *bootConfig) { b.Endpoint = e } }
func withCA(ca []byte) func(*bootConfig)      { return func(b *bootConfig) { b.CA = ca } }
