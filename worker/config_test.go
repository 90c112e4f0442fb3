package worker

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nodewright/nodewright/workflows"
)

// withRequired adds the flags every valid command line needs to args.
func withRequired(args ...string) []string {
	return append(args, "--cluster-name", "lab", "--nodepools", "pools.yaml")
}

func env(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

func TestParseFlagsFillsConfig(t *testing.T) {
	allEnv := map[string]string{
		"TEMPORAL_ADDRESS":   "temporal.svc:7233",
		"TEMPORAL_NAMESPACE": "nodes",
		"AWS_REGION":         "eu-west-1",
		"KUBECONFIG":         "/home/op/.kube/config",
		"KUBE_CLIENT_QPS":    "50",
		"KUBE_CLIENT_BURST":  "80",
		"ISOLATED_VPC":       "true",
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want Config
	}{
		{
			name: "defaults apply when only the required flags are given",
			args: withRequired(),
			want: Config{
				TemporalAddress: "127.0.0.1:7233", Namespace: "default", TaskQueue: workflows.TaskQueue,
				Region: "us-east-1", ClusterName: "lab", NodePoolsFile: "pools.yaml",
				MetricsAddr: "127.0.0.1:8081", KubeClientQPS: 200, KubeClientBurst: 300, GarbageCollectEvery: 2 * time.Minute, SpotPriceRefresh: 10 * time.Minute, WebhookAddr: ":8443", NodeClassGroup: "karpenter.k8s.aws",
			},
		},
		{
			name: "without --nodepools the worker reads NodePools from the API server",
			args: []string{"--cluster-name", "lab", "--webhook-url", "https://10.0.0.5:9443", "--webhook-cert-dir", "/certs"},
			want: Config{
				TemporalAddress: "127.0.0.1:7233", Namespace: "default", TaskQueue: workflows.TaskQueue,
				Region: "us-east-1", ClusterName: "lab",
				MetricsAddr: "127.0.0.1:8081", KubeClientQPS: 200, KubeClientBurst: 300, GarbageCollectEvery: 2 * time.Minute, SpotPriceRefresh: 10 * time.Minute,
				WebhookAddr: ":8443", NodeClassGroup: "karpenter.k8s.aws", WebhookURL: "https://10.0.0.5:9443", WebhookCertDir: "/certs",
			},
		},
		{
			name: "environment variables replace the defaults",
			args: withRequired(),
			env:  allEnv,
			want: Config{
				TemporalAddress: "temporal.svc:7233", Namespace: "nodes", TaskQueue: workflows.TaskQueue,
				Kubeconfig: "/home/op/.kube/config", Region: "eu-west-1", ClusterName: "lab",
				NodePoolsFile: "pools.yaml", KubeClientQPS: 50, KubeClientBurst: 80, GarbageCollectEvery: 2 * time.Minute, SpotPriceRefresh: 10 * time.Minute,
				MetricsAddr: "127.0.0.1:8081", WebhookAddr: ":8443", NodeClassGroup: "karpenter.k8s.aws", IsolatedVPC: true,
			},
		},
		{
			name: "flags override the environment",
			args: withRequired("--temporal-address", "10.0.0.1:7233", "--namespace", "prod", "--region", "ap-south-1",
				"--kubeconfig", "/etc/kube.yaml", "--task-queue", "q", "--metrics-addr", "",
				"--ec2-endpoint", "https://ec2.local:4566", "--zones", "ap-south-1a", "--kube-client-qps", "70", "--isolated-vpc=false",
				"--pricing-endpoint", "http://127.0.0.1:4589"),
			env: allEnv,
			want: Config{
				TemporalAddress: "10.0.0.1:7233", Namespace: "prod", TaskQueue: "q",
				Kubeconfig: "/etc/kube.yaml", Region: "ap-south-1", EC2Endpoint: "https://ec2.local:4566", PricingEndpoint: "http://127.0.0.1:4589",
				ClusterName: "lab", NodePoolsFile: "pools.yaml", Zones: []string{"ap-south-1a"}, WebhookAddr: ":8443", NodeClassGroup: "karpenter.k8s.aws",
				KubeClientQPS: 70, KubeClientBurst: 80, GarbageCollectEvery: 2 * time.Minute, SpotPriceRefresh: 10 * time.Minute,
			},
		},
		{
			name: "zones are trimmed and blank entries dropped",
			args: withRequired("--zones", " a , ,b,, c "),
			want: Config{
				TemporalAddress: "127.0.0.1:7233", Namespace: "default", TaskQueue: workflows.TaskQueue,
				Region: "us-east-1", ClusterName: "lab", NodePoolsFile: "pools.yaml",
				Zones: []string{"a", "b", "c"}, MetricsAddr: "127.0.0.1:8081", KubeClientQPS: 200, KubeClientBurst: 300, GarbageCollectEvery: 2 * time.Minute, SpotPriceRefresh: 10 * time.Minute, WebhookAddr: ":8443", NodeClassGroup: "karpenter.k8s.aws",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFlags(tt.args, env(tt.env))
			if err != nil {
				t.Fatalf("ParseFlags(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseFlags(%q)\n got  %+v\n want %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestParseFlagsRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// wantInError are fragments the one error must hold, so the operator sees every fix.
		wantInError []string
	}{
		{
			name:        "a missing cluster name says what it is for",
			args:        nil,
			wantInError: []string{"--cluster-name", "kubernetes.io/cluster/<name>"},
		},
		{
			name:        "a node class group Nodewright does not know is rejected naming the flag",
			args:        withRequired("--nodeclass-group", "example.com"),
			wantInError: []string{"--nodeclass-group", "nodewright.io"},
		},
		{
			name:        "a garbage collection period too short to be meant is rejected naming the flag and the way to turn it off",
			args:        withRequired("--garbage-collection-interval", "500ms"),
			wantInError: []string{"--garbage-collection-interval", "at least 1s", "0 to turn"},
		},
		{
			name:        "a negative garbage collection period is rejected naming the flag",
			args:        withRequired("--garbage-collection-interval", "-2m"),
			wantInError: []string{"--garbage-collection-interval", "-2m0s"},
		},
		{
			name:        "a webhook URL the API server cannot call is rejected naming the flag",
			args:        withRequired("--webhook-url", "http://10.0.0.5:9443"),
			wantInError: []string{"--webhook-url", "https://"},
		},
		{
			name:        "an endpoint without a scheme is rejected naming the flag",
			args:        withRequired("--ec2-endpoint", "ec2.local:4566"),
			wantInError: []string{"--ec2-endpoint", "ec2.local:4566"},
		},
		{
			name:        "a Pricing endpoint without a scheme is rejected naming the flag",
			args:        withRequired("--pricing-endpoint", "api.pricing.local"),
			wantInError: []string{"--pricing-endpoint", "api.pricing.local"},
		},
		{
			name:        "an endpoint with a scheme but no host is rejected naming the flag",
			args:        withRequired("--ec2-endpoint", "http://"),
			wantInError: []string{"--ec2-endpoint"},
		},
		{
			name:        "a zone list of only blanks is rejected naming the flag",
			args:        withRequired("--zones", " , "),
			wantInError: []string{"--zones"},
		},
		{
			name:        "a client QPS that is not a number is rejected naming the flag and its variable",
			args:        withRequired("--kube-client-burst", "-3"),
			wantInError: []string{"--kube-client-qps", "KUBE_CLIENT_BURST"},
		},
		{
			name:        "an empty Temporal address is rejected naming the flag",
			args:        withRequired("--temporal-address", ""),
			wantInError: []string{"--temporal-address"},
		},
		{
			name:        "a spot price refresh EC2 would throttle is rejected naming the flag",
			args:        withRequired("--spot-price-refresh", "1s"),
			wantInError: []string{"--spot-price-refresh", "at least 10s"},
		},
		{
			name:        "an isolated VPC with a Pricing endpoint is a contradiction",
			args:        withRequired("--isolated-vpc", "--pricing-endpoint", "http://127.0.0.1:1"),
			wantInError: []string{"--isolated-vpc", "--pricing-endpoint"},
		},
		{
			name:        "a stray positional argument is rejected rather than ignored",
			args:        append(withRequired(), "extra.yaml"),
			wantInError: []string{"extra.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFlags(tt.args, env(nil))
			if err == nil {
				t.Fatalf("ParseFlags(%q) accepted the command line", tt.args)
			}
			for _, frag := range tt.wantInError {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("ParseFlags(%q) error %q does not mention %q", tt.args, err, frag)
				}
			}
		})
	}
}
