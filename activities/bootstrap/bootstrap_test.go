package bootstrap

import (
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
)

var lab = Cluster{Name: "lab", Endpoint: "https://127.0.0.1:6443", CABundle: "Y2E=", ServiceCIDR: "10.96.0.0/16"}

func ptr(s string) *string { return &s }

// parts reads an AL2023 document back with the standard library, as cloud-init would.
func parts(t *testing.T, doc string) (types []string, bodies []string) {
	t.Helper()
	head, body, _ := strings.Cut(doc, "\n\n")
	_, params, err := mime.ParseMediaType(strings.TrimPrefix(strings.Split(head, "\n")[1], "Content-Type: "))
	if err != nil {
		t.Fatalf("header %q: %v", head, err)
	}
	r := multipart.NewReader(strings.NewReader(body), params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return types, bodies
		}
		if err != nil {
			t.Fatalf("read part: %v\n%s", err, doc)
		}
		content, _ := io.ReadAll(p)
		types = append(types, p.Header.Get("Content-Type"))
		bodies = append(bodies, string(content))
	}
}

func TestAL2023MergesTheClassesUserDataFirst(t *testing.T) {
	tests := []struct {
		name      string
		custom    *string
		wantTypes []string
	}{
		{"none", nil, []string{contentTypeNodeConfig}},
		{"a shell script", ptr("#!/bin/bash\necho hi\n"), []string{contentTypeShell, contentTypeNodeConfig}},
		{"a NodeConfig", ptr("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      maxPods: 42\n"),
			[]string{contentTypeNodeConfig, contentTypeNodeConfig}},
		{"a MIME document of two parts", ptr("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n--BOUNDARY\nContent-Type: text/x-shellscript\n\necho one\n--BOUNDARY\nContent-Type: application/node.eks.aws\n\nkind: NodeConfig\napiVersion: node.eks.aws/v1alpha1\n--BOUNDARY--\n"),
			[]string{"text/x-shellscript", contentTypeNodeConfig, contentTypeNodeConfig}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := UserData(FamilyAL2023, lab, Node{Labels: map[string]string{"team": "a"}, Taints: []corev1.Taint{UnregisteredTaint()}}, tt.custom)
			if err != nil {
				t.Fatal(err)
			}
			types, bodies := parts(t, doc)
			if strings.Join(types, "|") != strings.Join(tt.wantTypes, "|") {
				t.Fatalf("part types %q, want %q", types, tt.wantTypes)
			}
			var nc nodeConfig
			if err := yaml.Unmarshal([]byte(bodies[len(bodies)-1]), &nc); err != nil {
				t.Fatalf("last part is not a NodeConfig: %v", err)
			}
			if nc.Spec.Cluster.Name != "lab" || nc.Spec.Cluster.APIServerEndpoint != lab.Endpoint || nc.Spec.Cluster.CIDR != lab.ServiceCIDR {
				t.Errorf("cluster %+v", nc.Spec.Cluster)
			}
			if len(nc.Spec.Kubelet.Flags) != 1 || nc.Spec.Kubelet.Flags[0] != `--node-labels="team=a"` {
				t.Errorf("flags %q", nc.Spec.Kubelet.Flags)
			}
		})
	}
}

func TestRestrictedLabelsStayOutOfUserData(t *testing.T) {
	labels := map[string]string{
		"topology.kubernetes.io/zone": "us-east-1a", "node.kubernetes.io/instance-type": "m5.large",
		"node-restriction.kubernetes.io/team": "a", "example.k8s.io/x": "y",
		"karpenter.sh/nodepool": "default", "karpenter.k8s.aws/instance-family": "m5", "team": "web",
	}
	got := KubeletLabels(labels)
	want := map[string]string{"karpenter.sh/nodepool": "default", "karpenter.k8s.aws/instance-family": "m5", "team": "web"}
	if len(got) != len(want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("label %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestBottlerocketSetsItsSettingsOverTheClasses(t *testing.T) {
	custom := ptr("[settings.kubernetes]\ncluster-name = 'someone-else'\nimage-gc-high-threshold-percent = 85\n[settings.kubernetes.node-labels]\nfrom-class = 'yes'\n")
	doc, err := UserData(FamilyBottlerocket, lab, Node{
		Labels:  map[string]string{"team": "a"},
		Taints:  []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}, UnregisteredTaint()},
		Kubelet: &awsv1.KubeletConfiguration{MaxPods: func() *int32 { n := int32(29); return &n }()},
	}, custom)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Settings struct {
			Kubernetes struct {
				ClusterName string              `toml:"cluster-name"`
				APIServer   string              `toml:"api-server"`
				MaxPods     int                 `toml:"max-pods"`
				GCHigh      int                 `toml:"image-gc-high-threshold-percent"`
				Labels      map[string]string   `toml:"node-labels"`
				Taints      map[string][]string `toml:"node-taints"`
			} `toml:"kubernetes"`
		} `toml:"settings"`
	}
	if err := toml.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatalf("not TOML: %v\n%s", err, doc)
	}
	k := got.Settings.Kubernetes
	if k.ClusterName != "lab" || k.APIServer != lab.Endpoint || k.MaxPods != 29 || k.GCHigh != 85 {
		t.Errorf("settings %+v", k)
	}
	if k.Labels["team"] != "a" || k.Labels["from-class"] != "yes" {
		t.Errorf("labels %v: want the class's and the pool's", k.Labels)
	}
	if k.Taints["dedicated"][0] != "gpu:NoSchedule" || k.Taints["karpenter.sh/unregistered"][0] != ":NoExecute" {
		t.Errorf("taints %v", k.Taints)
	}
}

func TestUserDataRefusals(t *testing.T) {
	podsPerCore := int32(4)
	tests := []struct {
		name    string
		family  string
		cluster Cluster
		node    Node
		custom  *string
		want    string
	}{
		{"no endpoint", FamilyAL2023, Cluster{Name: "lab", CABundle: "Y2E="}, Node{}, nil, "--cluster-endpoint"},
		{"no CA", FamilyAL2023, Cluster{Name: "lab", Endpoint: "https://x"}, Node{}, nil, "--cluster-ca-bundle"},
		{"no service CIDR for nodeadm", FamilyAL2023, Cluster{Name: "lab", Endpoint: "https://x", CABundle: "Y2E="}, Node{}, nil, "--service-cidr"},
		{"a script holding our boundary", FamilyAL2023, lab, Node{}, ptr("#!/bin/bash\necho '\n--//\n'\n"), "boundary"},
		{"a MIME header with no boundary", FamilyAL2023, lab, Node{}, ptr("MIME-Version: 1.0\nContent-Type: text/plain\n\nhello"), "not multipart"},
		{"a NodeConfig of another API", FamilyAL2023, lab, Node{}, ptr("apiVersion: v1\nkind: NodeConfig\n"), "node.eks.aws/v1alpha1"},
		{"Bottlerocket settings that are not TOML", FamilyBottlerocket, lab, Node{}, ptr("[settings"), "not Bottlerocket TOML"},
		{"podsPerCore on Bottlerocket", FamilyBottlerocket, lab, Node{Kubelet: &awsv1.KubeletConfiguration{PodsPerCore: &podsPerCore}}, nil, "podsPerCore"},
		{"Custom without user data", FamilyCustom, lab, Node{}, nil, "needs spec.userData"},
		{"AL2", "AL2", lab, Node{}, nil, "al2023@latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UserData(tt.family, tt.cluster, tt.node, tt.custom)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestCustomFamilyBootsFromTheClassesUserDataAlone(t *testing.T) {
	doc, err := UserData(FamilyCustom, Cluster{}, Node{Labels: map[string]string{"a": "b"}}, ptr("#!/bin/bash\n/etc/eks/bootstrap.sh lab\n"))
	if err != nil || doc != "#!/bin/bash\n/etc/eks/bootstrap.sh lab\n" {
		t.Errorf("user data %q, %v; want the class's as it is", doc, err)
	}
}
