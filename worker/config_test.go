package worker

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/contrib/envconfig"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodewright/nodewright/lab/certs"
	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// withRequired adds the flags every valid command line needs to args.
func withRequired(args ...string) []string {
	return append(args, "--cluster-name", "lab", "--nodepools", "pools.yaml")
}

func env(vars map[string]string) temporalconn.Env { return temporalconn.MapEnv(vars) }

// temporalAt is the connection profile for a plaintext frontend.
func temporalAt(address, namespace string) envconfig.ClientConfigProfile {
	return envconfig.ClientConfigProfile{Address: address, Namespace: namespace}
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
		"HEALTH_PROBE_PORT":  "9091",
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
				Temporal: temporalAt("127.0.0.1:7233", "default"), TaskQueue: workflows.TaskQueue,
				Region: "us-east-1", ClusterName: "lab", NodePoolsFile: "pools.yaml",
				MetricsAddr: ":8080", HealthProbeAddr: ":8081", BatchIdle: time.Second, BatchMax: 10 * time.Second, LogFormat: "json", KubeClientQPS: 200, KubeClientBurst: 300, GarbageCollectEvery: 2 * time.Minute, SpotPriceRefresh: 10 * time.Minute, WebhookAddr: ":8443", NodeClassGroup: "karpenter.k8s.aws", Tuning: defaultTuning(),
			},
		},
		{
			name: "without --nodepools the worker reads NodePools from the API server",
			args: []string{"--cluster-name", "lab", "--webhook-url", "https://10.0.0.5:9443", "--webhook-cert-dir", "/certs"},
			want: Config{
				Temporal: temporalAt("127.0.0.1:7233", "default"), TaskQueue: workflows.TaskQueue,
				Region: "us-east-1", ClusterName: "lab",
				MetricsAddr: ":8080", HealthProbeAddr: ":8081", BatchIdle: time.Second, BatchMax: 10 * time.Second, LogFormat: "json", KubeClientQPS: 200, KubeClientBurst: 300, GarbageCollectEvery: 2 * time.Minute, SpotPriceRefresh: 10 * time.Minute,
				WebhookAddr: ":8443", NodeClassGroup: "karpenter.k8s.aws", Tuning: defaultTuning(), WebhookURL: "https://10.0.0.5:9443", WebhookCertDir: "/certs",
			},
		},
		{
			name: "environment variables replace the defaults",
			args: withRequired(),
			env:  allEnv,
			want: Config{
				Temporal: temporalAt("temporal.svc:7233", "nodes"), TaskQueue: workflows.TaskQueue,
				Kubeconfig: "/home/op/.kube/config", Region: "eu-west-1", ClusterName: "lab",
				NodePoolsFile: "pools.yaml", KubeClientQPS: 50, KubeClientBurst: 80, GarbageCollectEvery: 2 * time.Minute, SpotPriceRefresh: 10 * time.Minute,
				MetricsAddr: ":8080", HealthProbeAddr: ":9091", BatchIdle: time.Second, BatchMax: 10 * time.Second, LogFormat: "json", WebhookAddr: ":8443", NodeClassGroup: "karpenter.k8s.aws", Tuning: defaultTuning(), IsolatedVPC: true,
			},
		},
		{
			name: "flags override the environment",
			args: withRequired("--temporal-address", "10.0.0.1:7233", "--namespace", "prod", "--region", "ap-south-1",
				"--kubeconfig", "/etc/kube.yaml", "--task-queue", "q", "--metrics-addr", "",
				"--ec2-endpoint", "https://ec2.local:4566", "--zones", "ap-south-1a", "--kube-client-qps", "70", "--isolated-vpc=false",
				"--pricing-endpoint", "http://127.0.0.1:4589"),
			// METRICS_PORT gives way to --metrics-addr; HEALTH_PROBE_PORT still counts.
			env: allEnv,
			want: Config{
				Temporal: temporalAt("10.0.0.1:7233", "prod"), TaskQueue: "q",
				Kubeconfig: "/etc/kube.yaml", Region: "ap-south-1", EC2Endpoint: "https://ec2.local:4566", PricingEndpoint: "http://127.0.0.1:4589",
				ClusterName: "lab", NodePoolsFile: "pools.yaml", Zones: []string{"ap-south-1a"}, WebhookAddr: ":8443", NodeClassGroup: "karpenter.k8s.aws", Tuning: defaultTuning(),
				KubeClientQPS: 70, KubeClientBurst: 80, GarbageCollectEvery: 2 * time.Minute, SpotPriceRefresh: 10 * time.Minute,
				HealthProbeAddr: ":9091", BatchIdle: time.Second, BatchMax: 10 * time.Second, LogFormat: "json",
			},
		},
		{
			name: "zones are trimmed and blank entries dropped",
			args: withRequired("--zones", " a , ,b,, c "),
			want: Config{
				Temporal: temporalAt("127.0.0.1:7233", "default"), TaskQueue: workflows.TaskQueue,
				Region: "us-east-1", ClusterName: "lab", NodePoolsFile: "pools.yaml",
				Zones: []string{"a", "b", "c"}, MetricsAddr: ":8080", HealthProbeAddr: ":8081", BatchIdle: time.Second, BatchMax: 10 * time.Second, LogFormat: "json", KubeClientQPS: 200, KubeClientBurst: 300, GarbageCollectEvery: 2 * time.Minute, SpotPriceRefresh: 10 * time.Minute, WebhookAddr: ":8443", NodeClassGroup: "karpenter.k8s.aws", Tuning: defaultTuning(),
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
		env  map[string]string
		// wantInError are fragments the one error must hold, so the operator sees every fix.
		wantInError []string
	}{
		{
			name:        "settings from the environment that do not parse are named by their variables",
			args:        withRequired(),
			env:         map[string]string{"METRICS_PORT": "http", "BATCH_IDLE_DURATION": "1", "TEMPORAL_TLS": "yes"},
			wantInError: []string{"METRICS_PORT", "BATCH_IDLE_DURATION", "TEMPORAL_TLS"},
		},
		{
			name:        "cluster limits that do not parse are named by their flags",
			args:        withRequired("--cluster-limit-cpu", "lots", "--cluster-limit-nodes", "-3", "--max-hourly-cost", "$20"),
			wantInError: []string{"--cluster-limit-cpu", "--cluster-limit-nodes", "--max-hourly-cost", "12.50"},
		},
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
			name:        "a Temporal address without a port is rejected naming the flag and its variable",
			args:        withRequired("--temporal-address", "temporal.svc"),
			wantInError: []string{"--temporal-address", "TEMPORAL_ADDRESS", "host:port"},
		},
		{
			name:        "a client certificate without its key is rejected naming both settings",
			args:        withRequired("--temporal-tls-cert-path", "/dev/null"),
			wantInError: []string{"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"},
		},
		{
			name:        "a CA file that does not exist is rejected naming the setting",
			args:        withRequired("--temporal-tls-ca-path", "/nonexistent/ca.pem"),
			wantInError: []string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "/nonexistent/ca.pem"},
		},
		{
			name:        "a batch window whose idle time exceeds its maximum is rejected naming both",
			args:        withRequired("--batch-idle-duration", "20s"),
			wantInError: []string{"--batch-idle-duration", "BATCH_MAX_DURATION"},
		},
		{
			// 0 means the default idle time, 1s, which would outlast this maximum.
			name:        "a batch window with no idle time and a maximum under the default idle time is rejected",
			args:        withRequired("--batch-idle-duration", "0s", "--batch-max-duration", "500ms"),
			wantInError: []string{"--batch-idle-duration", "BATCH_MAX_DURATION"},
		},
		{
			// 0 means the default maximum, 10s, which this idle time would outlast.
			name:        "a batch window with no maximum and an idle time over the default maximum is rejected",
			args:        withRequired("--batch-idle-duration", "20s", "--batch-max-duration", "0s"),
			wantInError: []string{"--batch-idle-duration", "BATCH_MAX_DURATION"},
		},
		{
			name:        "an unknown log level is rejected naming the flag and its variable",
			args:        withRequired("--log-level", "verbose"),
			wantInError: []string{"--log-level", "LOG_LEVEL"},
		},
		{
			name:        "an unknown log format is rejected naming the flag",
			args:        withRequired("--log-format", "xml"),
			wantInError: []string{"--log-format"},
		},
		{
			name:        "metrics and probes on one port are rejected naming both",
			args:        withRequired("--metrics-addr", ":9000", "--health-probe-addr", ":9000"),
			wantInError: []string{"--metrics-addr", "--health-probe-addr"},
		},
		{
			name:        "metrics and probes on one port spelled two ways are rejected naming both",
			args:        withRequired("--metrics-addr", "0.0.0.0:9000", "--health-probe-addr", ":9000"),
			wantInError: []string{"--metrics-addr", "--health-probe-addr"},
		},
		{
			name:        "metrics on the conversion webhook's port are rejected naming both",
			args:        withRequired(),
			env:         map[string]string{"METRICS_PORT": "8443"},
			wantInError: []string{"--metrics-addr", "--webhook-addr"},
		},
		{
			// Port 0 is any free port: nothing could scrape or probe it in a pod.
			name:        "a metrics port of 0 from the environment is rejected naming the variable",
			args:        withRequired(),
			env:         map[string]string{"METRICS_PORT": "0"},
			wantInError: []string{"METRICS_PORT", "from 1 to 65535"},
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
			name:        "a poller count of 0 is rejected naming the flag, its variable and the default",
			args:        withRequired("--activity-task-pollers", "0"),
			wantInError: []string{"--activity-task-pollers (ACTIVITY_TASK_POLLERS) is 0", "at least 1", "default 20"},
		},
		{
			name:        "a single workflow task poller is rejected saying why",
			args:        withRequired("--workflow-task-pollers", "1"),
			wantInError: []string{"--workflow-task-pollers (WORKFLOW_TASK_POLLERS) 1", "at least 2", "sticky"},
		},
		{
			name:        "a single workflow task slot from the environment is rejected naming the variable",
			args:        withRequired(),
			env:         map[string]string{"MAX_CONCURRENT_WORKFLOW_TASKS": "1"},
			wantInError: []string{"MAX_CONCURRENT_WORKFLOW_TASKS", "at least 2", "default 500"},
		},
		{
			name:        "negative concurrency is rejected naming each flag",
			args:        withRequired("--max-concurrent-activities", "-5", "--max-concurrent-local-activities", "-1", "--sticky-workflow-cache-size", "-10"),
			wantInError: []string{"--max-concurrent-activities (MAX_CONCURRENT_ACTIVITIES) -5", "--max-concurrent-local-activities", "--sticky-workflow-cache-size (STICKY_WORKFLOW_CACHE_SIZE) -10"},
		},
		{
			name:        "tuning variables that do not parse are named by their variables",
			args:        withRequired(),
			env:         map[string]string{"STICKY_WORKFLOW_CACHE_SIZE": "lots", "POLLER_AUTOSCALING": "maybe"},
			wantInError: []string{`STICKY_WORKFLOW_CACHE_SIZE="lots" must be a whole number`, `POLLER_AUTOSCALING="maybe" must be true or false`},
		},
		{
			name:        "a stray positional argument is rejected rather than ignored",
			args:        append(withRequired(), "extra.yaml"),
			wantInError: []string{"extra.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFlags(tt.args, env(tt.env))
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

func TestParseFlagsHelpIsNotAnError(t *testing.T) {
	if _, err := ParseFlags([]string{"-h"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("ParseFlags(-h) = %v, want flag.ErrHelp (the binary exits 0 on it)", err)
	}
}

// The worker reads Karpenter's environment names, so a Karpenter user's settings carry over.
func TestParseFlagsReadsKarpenterEnvironment(t *testing.T) {
	got, err := ParseFlags(nil, env(map[string]string{
		"CLUSTER_NAME": "prod", "CLUSTER_ENDPOINT": "https://api.prod", "INTERRUPTION_QUEUE": "prod-interruptions",
		"AWS_REGION": "eu-west-1", "BATCH_IDLE_DURATION": "2s", "BATCH_MAX_DURATION": "30s", "LOG_LEVEL": "debug",
		"METRICS_PORT": "9090", "HEALTH_PROBE_PORT": "9091", "CREATE_SEARCH_ATTRIBUTES": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name      string
		got, want any
	}{
		{"CLUSTER_NAME", got.ClusterName, "prod"}, {"CLUSTER_ENDPOINT", got.ClusterEndpoint, "https://api.prod"},
		{"INTERRUPTION_QUEUE", got.InterruptionQueue, "prod-interruptions"}, {"AWS_REGION", got.Region, "eu-west-1"},
		{"BATCH_IDLE_DURATION", got.BatchIdle, 2 * time.Second}, {"BATCH_MAX_DURATION", got.BatchMax, 30 * time.Second},
		{"LOG_LEVEL", got.LogLevel, slog.LevelDebug}, {"METRICS_PORT", got.MetricsAddr, ":9090"},
		{"HEALTH_PROBE_PORT", got.HealthProbeAddr, ":9091"}, {"CREATE_SEARCH_ATTRIBUTES", got.CreateSearchAttributes, true},
	}
	for _, w := range want {
		if w.got != w.want {
			t.Errorf("%s: got %v, want %v", w.name, w.got, w.want)
		}
	}
}

// The Temporal connection comes from the SDK's environment configuration: the config file's
// profile, then TEMPORAL_* variables, then flags.
func TestParseFlagsTemporalConnection(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeTestKeyPair(t, cert, key)
	copyFile(t, cert, ca)
	configFile := filepath.Join(dir, "temporal.toml")
	if err := os.WriteFile(configFile, []byte(`
[profile.cloud]
address = "ns.acct.tmprl.cloud:7233"
namespace = "ns.acct"
[profile.cloud.tls]
client_cert_path = "`+cert+`"
client_key_path = "`+key+`"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantAddress string
		wantNS      string
		wantDescr   string
	}{
		{
			name: "an API key turns TLS on", env: map[string]string{"TEMPORAL_ADDRESS": "us-east-1.aws.api.temporal.io:7233", "TEMPORAL_NAMESPACE": "ns.acct", "TEMPORAL_API_KEY": "secret"},
			wantAddress: "us-east-1.aws.api.temporal.io:7233", wantNS: "ns.acct", wantDescr: "(namespace ns.acct, TLS, API key)",
		},
		{
			name: "a profile of the config file gives mTLS", env: map[string]string{"TEMPORAL_CONFIG_FILE": configFile, "TEMPORAL_PROFILE": "cloud"},
			wantAddress: "ns.acct.tmprl.cloud:7233", wantNS: "ns.acct", wantDescr: "(namespace ns.acct, mTLS)",
		},
		{
			name: "flags override the profile and the environment", args: []string{"--temporal-config-file", configFile, "--temporal-profile", "cloud", "--namespace", "other", "--temporal-tls=false"},
			env:         map[string]string{"TEMPORAL_ADDRESS": "frontend:7233"},
			wantAddress: "frontend:7233", wantNS: "other", wantDescr: "frontend:7233 (namespace other)",
		},
		{
			name: "a self-hosted frontend with TLS and its own CA", env: map[string]string{"TEMPORAL_ADDRESS": "temporal-frontend.temporal:7233", "TEMPORAL_TLS": "true", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": ca},
			wantAddress: "temporal-frontend.temporal:7233", wantNS: "default", wantDescr: "(namespace default, TLS)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFlags(withRequired(tt.args...), env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got.Temporal.Address != tt.wantAddress || got.Temporal.Namespace != tt.wantNS {
				t.Errorf("connection %s / %s, want %s / %s", got.Temporal.Address, got.Temporal.Namespace, tt.wantAddress, tt.wantNS)
			}
			if d := temporalconn.Describe(got.Temporal); !strings.Contains(d, tt.wantDescr) {
				t.Errorf("Describe = %q, want it to hold %q", d, tt.wantDescr)
			}
			opts, err := temporalconn.ClientOptions(got.Temporal)
			if err != nil {
				t.Fatal(err)
			}
			if secure := opts.ConnectionOptions.TLS != nil; secure != strings.Contains(tt.wantDescr, "TLS") {
				t.Errorf("client TLS config set = %v for %q", secure, tt.wantDescr)
			}
		})
	}
}

func TestNewLoggerWritesJSONByDefault(t *testing.T) {
	var b strings.Builder
	NewLogger(&b, Config{LogLevel: slog.LevelWarn}).Info("dropped")
	NewLogger(&b, Config{LogLevel: slog.LevelWarn}).Warn("kept", "node", "n1")
	if out := b.String(); strings.Contains(out, "dropped") || !strings.Contains(out, `"msg":"kept","node":"n1"`) {
		t.Errorf("log output %q: want only the warning, as JSON", out)
	}
	NewLogger(io.Discard, Config{LogFormat: "text"}).Info("text logs do not panic")
}

// writeTestKeyPair writes a self-signed certificate and its key as PEM files.
func writeTestKeyPair(t *testing.T, certFile, keyFile string) {
	t.Helper()
	ca, err := certs.NewCA("test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for file, data := range map[string][]byte{certFile: ca.CertPEM, keyFile: ca.KeyPEM} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err == nil {
		err = os.WriteFile(to, data, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseFlagsReadsClusterLimits(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantCPU   string
		wantNodes string
		wantCost  *float64
	}{
		{name: "none by default", args: withRequired()},
		{name: "from flags", args: withRequired("--cluster-limit-cpu", "256", "--cluster-limit-nodes", "40", "--max-hourly-cost", "25.50"),
			wantCPU: "256", wantNodes: "40", wantCost: ptrTo(25.5)},
		{name: "from the environment", args: withRequired(), env: map[string]string{"CLUSTER_LIMIT_CPU": "1000m", "MAX_HOURLY_COST": "3"},
			wantCPU: "1", wantCost: ptrTo(3.0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseFlags(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			l := c.ClusterLimits
			if got := quantityOf(l.Resources, "cpu"); got != tt.wantCPU {
				t.Errorf("cpu limit %q, want %q", got, tt.wantCPU)
			}
			if got := quantityOf(l.Resources, "nodes"); got != tt.wantNodes {
				t.Errorf("nodes limit %q, want %q", got, tt.wantNodes)
			}
			if (l.MaxHourlyCost == nil) != (tt.wantCost == nil) || (l.MaxHourlyCost != nil && *l.MaxHourlyCost != *tt.wantCost) {
				t.Errorf("max hourly cost %v, want %v", l.MaxHourlyCost, tt.wantCost)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func quantityOf(rl corev1.ResourceList, name corev1.ResourceName) string {
	q, ok := rl[name]
	if !ok {
		return ""
	}
	return q.String()
}
