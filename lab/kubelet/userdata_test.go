package kubelet

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// karpenterAL2023 is Karpenter's golden AL2023 user data for a default NodePool.
const karpenterAL2023 = `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="//"

--//
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
metadata: {}
spec:
  cluster:
    apiServerEndpoint: https://test-cluster
    certificateAuthority: Y2EtYnVuZGxlCg==
    cidr: 10.100.0.0/16
    name: test-cluster
  kubelet:
    config:
      clusterDNS:
      - 10.0.100.10
      maxPods: 110
      registerWithTaints:
      - effect: NoExecute
        key: karpenter.sh/unregistered
    flags:
    - --node-labels="karpenter.sh/capacity-type=on-demand,karpenter.sh/nodepool=default,team=a"

--//--
`

const bareNodeConfig = `---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: test-cluster
    apiServerEndpoint: https://test-cluster
    certificateAuthority: Y2EtYnVuZGxlCg==
    cidr: 10.100.0.0/16
  kubelet:
    config:
      maxPods: 58
    flags:
    - --node-labels=team=b
    - --register-with-taints=dedicated=gpu:NoSchedule
`

// mergedParts has a user's NodeConfig and shell script before the generated NodeConfig, which
// nodeadm lays over the user's.
const mergedParts = `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUNDARY"

--BOUNDARY
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: old-name
  kubelet:
    config:
      maxPods: 50
      systemReserved:
        cpu: 100m
      registerWithTaints:
      - key: user
        effect: NoSchedule
    flags:
    - --node-labels=team=a,tier=web
--BOUNDARY
Content-Type: text/x-shellscript; charset="us-ascii"

#!/bin/bash
echo "the user's own script" > /tmp/hello
--BOUNDARY
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: test-cluster
    apiServerEndpoint: https://test-cluster
    certificateAuthority: Y2EtYnVuZGxlCg==
  kubelet:
    config:
      maxPods: 80
      systemReserved:
        memory: 1Gi
      registerWithTaints:
      - key: generated
        value: "yes"
        effect: NoExecute
      evictionHard:
        memory.available: 200Mi
    flags:
    - --node-labels=team=b
--BOUNDARY--
`

const bottlerocket = `[settings.kubernetes]
cluster-name = "test-cluster"
api-server = "https://test-cluster"
cluster-certificate = "Y2EtYnVuZGxlCg=="
max-pods = 29

[settings.kubernetes.node-labels]
"karpenter.sh/capacity-type" = "spot"
"karpenter.sh/nodepool" = "default"

[settings.kubernetes.node-taints]
"karpenter.sh/unregistered" = [":NoExecute"]
dedicated = "gpu:NoSchedule"

[settings.kubernetes.kube-reserved]
memory = "1Gi"

[settings.kubernetes.system-reserved]
cpu = "50m"

[settings.kubernetes.eviction-hard]
"nodefs.available" = "15%"
`

func TestReadUserData(t *testing.T) {
	tests := []struct {
		name     string
		userData string
		want     bootConfig
	}{
		{
			name: "Karpenter's AL2023 golden gives labels from --node-labels and taints from the config", userData: karpenterAL2023,
			want: boot(withLabels("karpenter.sh/capacity-type", "on-demand", "karpenter.sh/nodepool", "default", "team", "a"),
				withTaints(corev1.Taint{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute}), withMaxPods(110)),
		},
		{
			name: "a bare NodeConfig is read as nodeadm reads it", userData: bareNodeConfig,
			want: boot(withLabels("team", "b"), withTaints(corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}), withMaxPods(58)),
		},
		{
			name: "a base64 NodeConfig is decoded first, as nodeadm does", userData: base64.StdEncoding.EncodeToString([]byte(bareNodeConfig)),
			want: boot(withLabels("team", "b"), withTaints(corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}), withMaxPods(58)),
		},
		{
			name: "a gzipped MIME document is decompressed first, as nodeadm does", userData: gzipped(t, karpenterAL2023),
			want: boot(withLabels("karpenter.sh/capacity-type", "on-demand", "karpenter.sh/nodepool", "default", "team", "a"),
				withTaints(corev1.Taint{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute}), withMaxPods(110)),
		},
		{
			name: "NodeConfig parts merge in order around a shell script: scalars and lists replaced, maps merged, flags appended", userData: mergedParts,
			want: boot(withLabels("team", "b", "tier", "web"), withTaints(corev1.Taint{Key: "generated", Value: "yes", Effect: corev1.TaintEffectNoExecute}),
				withMaxPods(80), withSystemReserved("cpu", "100m", "memory", "1Gi"), withEvictionHard("memory.available", "200Mi")),
		},
		{
			name: "Bottlerocket TOML settings", userData: bottlerocket,
			want: boot(withFormat(formatBottlerocket), withLabels("karpenter.sh/capacity-type", "spot", "karpenter.sh/nodepool", "default"),
				withTaints(corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
					corev1.Taint{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute}),
				withMaxPods(29), withKubeReserved("memory", "1Gi"), withSystemReserved("cpu", "50m"), withEvictionHard("nodefs.available", "15%")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readUserData(tt.userData)
			if err != nil {
				t.Fatalf("user data refused: %v", err)
			}
			assertBootConfig(t, got, tt.want)
		})
	}
}

func TestReadUserDataRefusesWhatNoNodeCouldBoot(t *testing.T) {
	tests := []struct {
		name, userData, wantErr string
	}{
		{name: "no user data at all", userData: "", wantErr: "instance has no user data: a node without bootstrap never joins"},
		{name: "only whitespace", userData: " \n\t\n", wantErr: "instance has no user data"},
		{name: "a NodeConfig that is not YAML", userData: "apiVersion: node.eks.aws/v1alpha1\nkind: [NodeConfig\n", wantErr: "decode NodeConfig"},
		{name: "a shell script only, which nodeadm cannot read", userData: "#!/bin/bash\n/etc/eks/bootstrap.sh lab\n", wantErr: "decode NodeConfig"},
		{name: "a MIME document with no NodeConfig part", userData: mimeDoc("text/x-shellscript", "#!/bin/bash\necho hi\n"), wantErr: "no application/node.eks.aws part"},
		{name: "a MIME part that is not YAML", userData: mimeDoc(nodeConfigMediaType, "spec: [unclosed\n"), wantErr: "MIME part 1: decode NodeConfig"},
		{name: "a multipart document without boundary", userData: "MIME-Version: 1.0\nContent-Type: multipart/mixed\n\nbody\n", wantErr: "has no boundary"},
		{name: "another kind than NodeConfig", userData: "apiVersion: node.eks.aws/v1alpha1\nkind: Cluster\n", wantErr: `kind "Cluster", not node.eks.aws/v1alpha1 NodeConfig`},
		{name: "an API version nodeadm does not know", userData: "apiVersion: node.eks.aws/v9\nkind: NodeConfig\n", wantErr: `apiVersion "node.eks.aws/v9"`},
		{name: "a kubelet config field of the wrong type", userData: nodeadmWith("    config:\n      maxPods: many\n"), wantErr: "kubelet config"},
		{name: "a kubelet reservation that is not a quantity", userData: nodeadmWith("    config:\n      systemReserved:\n        memory: lots\n"), wantErr: "kubelet config systemReserved: memory"},
		{name: "a reservation of a resource the kubelet cannot reserve", userData: nodeadmWith("    config:\n      kubeReserved:\n        gpu: \"1\"\n"), wantErr: `cannot reserve "gpu" resource`},
		{name: "an eviction signal the kubelet does not know", userData: nodeadmWith("    config:\n      evictionHard:\n        disk.free: 1Gi\n"), wantErr: `unsupported eviction signal "disk.free"`},
		{name: "an eviction threshold that is neither quantity nor percentage", userData: nodeadmWith("    config:\n      evictionHard:\n        memory.available: 200%\n"), wantErr: "not a percentage"},
		{name: "a malformed --node-labels", userData: nodeadmWith("    flags:\n    - --node-labels=team\n"), wantErr: "malformed pair"},
		{name: "a --register-with-taints without effect", userData: nodeadmWith("    flags:\n    - --register-with-taints=dedicated=gpu\n"), wantErr: "invalid taint spec"},
		{name: "a certificate authority that is not base64", userData: strings.Replace(karpenterAL2023, "Y2EtYnVuZGxlCg==", "not*base64", 1), wantErr: "certificateAuthority: not base64"},
		{name: "TOML that does not parse", userData: "[settings.kubernetes]\ncluster-name = \"lab\n", wantErr: "Bottlerocket user data: decode TOML settings"},
		{name: "a Bottlerocket setting of the wrong type", userData: "[settings.kubernetes]\nmax-pods = \"many\"\n", wantErr: "decode TOML settings"},
		{name: "a Bottlerocket taint without effect", userData: "[settings.kubernetes.node-taints]\ndedicated = \"gpu\"\n", wantErr: `taint dedicated = "gpu" has no :Effect`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readUserData(tt.userData)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("readUserData error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLooksLikeTOML(t *testing.T) {
	tests := []struct {
		name, doc string
		want      bool
	}{
		{name: "a table header", doc: "# settings\n\n[settings.kubernetes]\n", want: true},
		{name: "a dotted key assignment", doc: "settings.kubernetes.cluster-name = \"lab\"\n", want: true},
		{name: "a MIME header", doc: "MIME-Version: 1.0\n", want: false},
		{name: "a YAML document marker", doc: "---\napiVersion: node.eks.aws/v1alpha1\n", want: false},
		{name: "base64 with padding", doc: "YXBpVmVyc2lvbjogbm9kZS5la3MuYXdzL3YxYWxwaGExCg==\n", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := looksLikeTOML(tt.doc); got != tt.want {
				t.Errorf("looksLikeTOML(%q) = %v, want %v", tt.doc, got, tt.want)
			}
		})
	}
}

// boot builds the bootConfig of the test-cluster documents above.
func boot(opts ...func(*bootConfig)) bootConfig {
	cfg := bootConfig{
		Format: formatNodeadm, ClusterName: "test-cluster", Endpoint: "https://test-cluster", ServiceCIDR: "10.100.0.0/16",
		CA: []byte("ca-bundle\n"), Labels: map[string]string{},
	}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

func withFormat(f string) func(*bootConfig) { return func(c *bootConfig) { c.Format = f } }

func withLabels(kv ...string) func(*bootConfig) {
	return func(c *bootConfig) {
		for i := 0; i+1 < len(kv); i += 2 {
			c.Labels[kv[i]] = kv[i+1]
		}
	}
}

func withTaints(t ...corev1.Taint) func(*bootConfig) {
	return func(c *bootConfig) { c.Taints = append(c.Taints, t...) }
}

func withMaxPods(n int32) func(*bootConfig) { return func(c *bootConfig) { c.MaxPods = n } }

func withPodsPerCore(n int32) func(*bootConfig) { return func(c *bootConfig) { c.PodsPerCore = n } }

func withSystemReserved(kv ...string) func(*bootConfig) {
	return func(c *bootConfig) { c.SystemReserved = resourceList(kv...) }
}

func withKubeReserved(kv ...string) func(*bootConfig) {
	return func(c *bootConfig) { c.KubeReserved = resourceList(kv...) }
}

func withEvictionHard(kv ...string) func(*bootConfig) {
	return func(c *bootConfig) {
		c.EvictionHard = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			c.EvictionHard[kv[i]] = kv[i+1]
		}
	}
}

func resourceList(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// assertBootConfig compares field by field so a failure names what differs.
func assertBootConfig(t *testing.T, got, want bootConfig) {
	t.Helper()
	if got.Format != want.Format || got.ClusterName != want.ClusterName || got.Endpoint != want.Endpoint || !bytes.Equal(got.CA, want.CA) {
		t.Errorf("cluster = %s %q %q CA %q, want %s %q %q CA %q",
			got.Format, got.ClusterName, got.Endpoint, got.CA, want.Format, want.ClusterName, want.Endpoint, want.CA)
	}
	if !maps.Equal(got.Labels, want.Labels) {
		t.Errorf("labels = %v, want %v", got.Labels, want.Labels)
	}
	if !slices.EqualFunc(got.Taints, want.Taints, func(a, b corev1.Taint) bool { return a.MatchTaint(&b) && a.Value == b.Value }) {
		t.Errorf("taints = %v, want %v", got.Taints, want.Taints)
	}
	if got.MaxPods != want.MaxPods || got.PodsPerCore != want.PodsPerCore {
		t.Errorf("maxPods %d podsPerCore %d, want %d and %d", got.MaxPods, got.PodsPerCore, want.MaxPods, want.PodsPerCore)
	}
	for _, r := range []struct {
		name      string
		got, want corev1.ResourceList
	}{{"systemReserved", got.SystemReserved, want.SystemReserved}, {"kubeReserved", got.KubeReserved, want.KubeReserved}} {
		if !maps.EqualFunc(r.got, r.want, func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 }) {
			t.Errorf("%s = %v, want %v", r.name, r.got, r.want)
		}
	}
	if !maps.Equal(got.EvictionHard, want.EvictionHard) {
		t.Errorf("evictionHard = %v, want %v", got.EvictionHard, want.EvictionHard)
	}
}

// mimeDoc wraps one part in the multi-part document nodeadm reads.
func mimeDoc(contentType, body string) string {
	return "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"//\"\n\n--//\nContent-Type: " +
		contentType + "\n\n" + body + "\n--//--\n"
}

// nodeadmWith is a bare NodeConfig for test-cluster whose spec.kubelet is the given YAML.
func nodeadmWith(kubelet string) string {
	return `apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: test-cluster
    apiServerEndpoint: https://test-cluster
    certificateAuthority: Y2EtYnVuZGxlCg==
  kubelet:
` + kubelet
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return buf.String()
}
