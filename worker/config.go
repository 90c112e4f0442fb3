package worker

import (
	"cmp"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.temporal.io/sdk/contrib/envconfig"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// Config is everything the worker needs; flags and environment fill it.
type Config struct {
	// Temporal is the connection as Temporal's tools configure it (temporalconn).
	Temporal envconfig.ClientConfigProfile
	// CreateSearchAttributes registers the search attributes the workflows set when the
	// server lacks them (self-hosted only); otherwise the worker stops, naming them.
	CreateSearchAttributes bool
	TaskQueue              string
	// Kubeconfig is a kubeconfig path; empty means in-cluster configuration.
	Kubeconfig string
	// KubeClientQPS and KubeClientBurst pace the Kubernetes client; 0 means Karpenter's
	// defaults, 200 and 300.
	KubeClientQPS   int
	KubeClientBurst int
	Region          string
	EC2Endpoint     string
	ClusterName     string
	// ClusterEndpoint, ClusterCABundle (base64 PEM) and ServiceCIDR go into every node's user
	// data; empty ones are read from EKS's DescribeCluster.
	ClusterEndpoint string
	ClusterCABundle string
	ServiceCIDR     string
	// SSMEndpoint, IAMEndpoint and EKSEndpoint override the region's public endpoints.
	SSMEndpoint string
	IAMEndpoint string
	EKSEndpoint string
	// NodePoolsFile holds NodePools and EC2NodeClasses in YAML; empty means they come from
	// the API server (the CRDs of crds/ must be installed).
	NodePoolsFile string
	// WebhookAddr is where the CRDs' conversion webhook listens; empty disables it.
	WebhookAddr string
	// WebhookURL is how the API server reaches the webhook, when not through the Service the
	// CRDs name.
	WebhookURL string
	// WebhookCertDir holds the webhook's tls.crt, tls.key and ca.crt; empty means
	// self-signed.
	WebhookCertDir string
	// NodeClassGroup is the nodeClassRef group of the NodePools this worker serves:
	// karpenter.k8s.aws, or nodewright.io when a Karpenter serves the others.
	NodeClassGroup string
	Zones          []string
	// MetricsAddr serves /metrics; HealthProbeAddr /healthz and /readyz. Empty disables.
	MetricsAddr string
	// EnableProfiling serves Go's pprof profiles under /debug/pprof/ on MetricsAddr, as
	// Karpenter's ENABLE_PROFILING does.
	EnableProfiling bool
	HealthProbeAddr string
	// BatchIdle and BatchMax shape the Provisioner's batches: a batch closes once no pod
	// has arrived for BatchIdle, or BatchMax after it opened; 0 means 1s and 10s.
	BatchIdle time.Duration
	BatchMax  time.Duration
	// LogLevel and LogFormat (json or text) shape the worker binary's logs.
	LogLevel  slog.Level
	LogFormat string
	// InterruptionQueue enables the interruption controller on this SQS queue (name or URL).
	InterruptionQueue string
	SQSEndpoint       string
	// IsolatedVPC: the cluster cannot reach the AWS Pricing API, so on-demand prices are the
	// embedded ones (Karpenter's --isolated-vpc).
	IsolatedVPC bool
	// PricingEndpoint overrides the Pricing API endpoint that serves the region.
	PricingEndpoint string
	// SpotPriceRefresh is how often spot prices are read again; 0 means every 10 minutes.
	SpotPriceRefresh time.Duration
	// GarbageCollectEvery is how often EC2 and Kubernetes are reconciled with the node
	// workflows; zero stops the garbage collector.
	GarbageCollectEvery time.Duration
	// ClusterLimits cap every NodePool's nodes together (--cluster-limit-*, --max-hourly-cost);
	// the default ClusterPolicy, when there is one, wins for each field it sets.
	ClusterLimits schedulerengine.ClusterLimits
	// Tuning sizes the Temporal worker: pollers, concurrency and the sticky cache.
	Tuning Tuning
	// Credentials overrides the AWS default credential chain; for in-process use such as the
	// lab, never set from flags.
	Credentials aws.CredentialsProvider
	// HTTPClient overrides the AWS SDK's HTTP client; for in-process use, never from flags.
	HTTPClient *http.Client
}

// ParseFlags reads the worker's flags. The environment supplies the defaults, under
// Karpenter's names where Karpenter has the setting (CLUSTER_NAME, INTERRUPTION_QUEUE,
// AWS_REGION, METRICS_PORT, ...) and Temporal's for the connection (TEMPORAL_ADDRESS,
// TEMPORAL_API_KEY, TEMPORAL_TLS_*, ...); flags override both. -h returns flag.ErrHelp.
func ParseFlags(args []string, env temporalconn.Env) (Config, error) {
	getenv := temporalconn.Getenv(env)
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var c Config
	var zones, logLevel string
	var settingErrs []error
	temporalFlags := temporalconn.Register(fs)
	fs.BoolVar(&c.CreateSearchAttributes, "create-search-attributes", envBool(getenv, "CREATE_SEARCH_ATTRIBUTES"), "register the Temporal search attributes the workflows set when missing (self-hosted Temporal only; env CREATE_SEARCH_ATTRIBUTES)")
	fs.StringVar(&c.TaskQueue, "task-queue", workflows.TaskQueue, "Temporal task queue")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", getenv("KUBECONFIG"), "kubeconfig path; in-cluster configuration when empty (env KUBECONFIG)")
	fs.IntVar(&c.KubeClientQPS, "kube-client-qps", envInt(getenv, "KUBE_CLIENT_QPS", 200), "requests per second to the API server (env KUBE_CLIENT_QPS)")
	fs.IntVar(&c.KubeClientBurst, "kube-client-burst", envInt(getenv, "KUBE_CLIENT_BURST", 300), "requests in a burst to the API server (env KUBE_CLIENT_BURST)")
	fs.StringVar(&c.Region, "region", envOr(getenv, "AWS_REGION", "us-east-1"), "AWS region (env AWS_REGION)")
	fs.StringVar(&c.EC2Endpoint, "ec2-endpoint", "", "EC2 endpoint URL; empty means the region's public endpoint")
	fs.StringVar(&c.ClusterName, "cluster-name", getenv("CLUSTER_NAME"), "cluster name, used to tag instances (required; env CLUSTER_NAME)")
	fs.StringVar(&c.ClusterEndpoint, "cluster-endpoint", getenv("CLUSTER_ENDPOINT"), "the API server URL nodes join (env CLUSTER_ENDPOINT); empty asks EKS")
	fs.StringVar(&c.ClusterCABundle, "cluster-ca-bundle", getenv("CLUSTER_CA_BUNDLE"), "the cluster's CA certificate, PEM then base64, as EKS shows it (env CLUSTER_CA_BUNDLE); empty asks EKS")
	fs.StringVar(&c.ServiceCIDR, "service-cidr", getenv("SERVICE_CIDR"), "the cluster's service address range (env SERVICE_CIDR); empty asks EKS")
	fs.StringVar(&c.SSMEndpoint, "ssm-endpoint", "", "SSM endpoint URL; empty means the region's public endpoint")
	fs.StringVar(&c.IAMEndpoint, "iam-endpoint", "", "IAM endpoint URL; empty means the public endpoint")
	fs.StringVar(&c.EKSEndpoint, "eks-endpoint", "", "EKS endpoint URL; empty means the region's public endpoint")
	fs.StringVar(&c.NodePoolsFile, "nodepools", "", "file of NodePool and EC2NodeClass YAML documents; empty reads them from the API server (install crds/ first)")
	fs.StringVar(&c.WebhookAddr, "webhook-addr", ":8443", "listen address of the CRDs' conversion webhook (karpenter.sh/v1beta1 objects); empty disables it")
	fs.StringVar(&c.WebhookURL, "webhook-url", "", "https URL the API server reaches the webhook at; empty keeps the CRDs' Service (nodewright.kube-system:8443)")
	fs.StringVar(&c.NodeClassGroup, "nodeclass-group", awsv1.Group, "serve the NodePools whose nodeClassRef names this group: karpenter.k8s.aws, or nodewright.io to leave the others to a Karpenter in the same cluster")
	fs.StringVar(&c.WebhookCertDir, "webhook-cert-dir", "", "directory with the webhook's tls.crt and tls.key (and ca.crt); empty makes a self-signed certificate")
	fs.StringVar(&zones, "zones", "", "comma-separated availability zones to limit launches to; empty launches in every zone the EC2NodeClasses' subnets are in")
	fs.StringVar(&c.InterruptionQueue, "interruption-queue", getenv("INTERRUPTION_QUEUE"), "SQS queue (name or URL) of EC2 interruption events; empty disables interruption handling (env INTERRUPTION_QUEUE)")
	fs.StringVar(&c.SQSEndpoint, "sqs-endpoint", "", "SQS endpoint URL; empty means the region's public endpoint")
	fs.BoolVar(&c.IsolatedVPC, "isolated-vpc", envBool(getenv, "ISOLATED_VPC"), "the cluster cannot reach the AWS Pricing API: price on-demand offerings from the embedded prices (env ISOLATED_VPC)")
	fs.StringVar(&c.PricingEndpoint, "pricing-endpoint", "", "AWS Pricing API endpoint URL; empty means the public endpoint that serves the region")
	fs.DurationVar(&c.SpotPriceRefresh, "spot-price-refresh", 10*time.Minute, "how often spot prices are read again from EC2 (at least 10s)")
	fs.DurationVar(&c.GarbageCollectEvery, "garbage-collection-interval", workflows.DefaultGarbageCollectEvery, "how often instances, Nodes and NodeClaims no running node workflow accounts for are looked for and reclaimed; 0 turns the garbage collector off")
	fs.DurationVar(&c.BatchIdle, "batch-idle-duration", envDuration(getenv, "BATCH_IDLE_DURATION", workflows.DefaultBatchIdle, &settingErrs), "a batch of pending pods closes once no pod has arrived for this long (env BATCH_IDLE_DURATION)")
	fs.DurationVar(&c.BatchMax, "batch-max-duration", envDuration(getenv, "BATCH_MAX_DURATION", workflows.DefaultBatchMax, &settingErrs), "a batch of pending pods closes this long after it opened at the latest (env BATCH_MAX_DURATION)")
	fs.BoolVar(&c.EnableProfiling, "enable-profiling", envBool(getenv, "ENABLE_PROFILING"), "serve Go's pprof profiles under /debug/pprof/ on the metrics address (env ENABLE_PROFILING)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", envPortAddr(getenv, "METRICS_PORT", 8080, &settingErrs), "listen address of /metrics (env METRICS_PORT sets the port); empty disables")
	fs.StringVar(&c.HealthProbeAddr, "health-probe-addr", envPortAddr(getenv, "HEALTH_PROBE_PORT", 8081, &settingErrs), "listen address of /healthz and /readyz (env HEALTH_PROBE_PORT sets the port); empty disables")
	limits := clusterLimitFlags(fs, getenv)
	tuning := tuningFlags(fs, getenv, &settingErrs)
	fs.StringVar(&logLevel, "log-level", envOr(getenv, "LOG_LEVEL", "info"), "debug, info, warn or error (env LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", envOr(getenv, "LOG_FORMAT", "json"), "json or text (env LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	// A stray word (say a file name without --nodepools) would otherwise be ignored silently.
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments %q: the worker takes flags only", fs.Args())
	}
	if err := c.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		settingErrs = append(settingErrs, fmt.Errorf("--log-level (LOG_LEVEL) %q must be debug, info, warn or error", logLevel))
	}
	var err error
	if c.Temporal, err = temporalFlags.Load(env); err != nil {
		settingErrs = append(settingErrs, err)
	}
	c.ClusterLimits, err = limits.parse()
	if err != nil {
		settingErrs = append(settingErrs, err)
	}
	var tuningErrs []error
	c.Tuning, tuningErrs = tuning.tuning()
	settingErrs = append(settingErrs, tuningErrs...)
	c.Zones = splitZones(zones)
	if zones != "" && len(c.Zones) == 0 {
		settingErrs = append(settingErrs, fmt.Errorf("--zones %q names no zone; leave it out to launch in every zone of the EC2NodeClasses' subnets", zones))
	}
	return c, errors.Join(append(settingErrs, c.Validate())...)
}

// splitZones reads a comma-separated list, dropping blanks so "a, b," means [a b].
func splitZones(list string) []string {
	var zones []string
	for _, z := range strings.Split(list, ",") {
		if z = strings.TrimSpace(z); z != "" {
			zones = append(zones, z)
		}
	}
	return zones
}

// Validate reports every missing or malformed setting at once, naming the flag to fix.
func (c Config) Validate() error {
	var errs []error
	if c.ClusterName == "" {
		errs = append(errs, errors.New("--cluster-name is required: the name instances are tagged with (kubernetes.io/cluster/<name>)"))
	}
	if c.NodeClassGroup != awsv1.Group && c.NodeClassGroup != awsv1.NodewrightGroup {
		errs = append(errs, fmt.Errorf("--nodeclass-group %q must be %s, or %s beside a Karpenter", c.NodeClassGroup, awsv1.Group, awsv1.NodewrightGroup))
	}
	if c.WebhookURL != "" && !strings.HasPrefix(c.WebhookURL, "https://") {
		errs = append(errs, fmt.Errorf("--webhook-url %q must be an https:// URL: the API server calls conversion webhooks over TLS", c.WebhookURL))
	}
	if c.KubeClientQPS < 0 || c.KubeClientBurst < 0 {
		errs = append(errs, fmt.Errorf("--kube-client-qps and --kube-client-burst (KUBE_CLIENT_QPS, KUBE_CLIENT_BURST) must be whole numbers above 0, got %d and %d",
			c.KubeClientQPS, c.KubeClientBurst))
	}
	if c.GarbageCollectEvery < 0 || (c.GarbageCollectEvery > 0 && c.GarbageCollectEvery < time.Second) {
		errs = append(errs, fmt.Errorf("--garbage-collection-interval %s must be at least 1s (default %s), or 0 to turn the garbage collector off", c.GarbageCollectEvery, workflows.DefaultGarbageCollectEvery))
	}
	if c.SpotPriceRefresh < 0 || (c.SpotPriceRefresh > 0 && c.SpotPriceRefresh < 10*time.Second) {
		errs = append(errs, fmt.Errorf("--spot-price-refresh %s must be at least 10s (default 10m): EC2 throttles DescribeSpotPriceHistory", c.SpotPriceRefresh))
	}
	if c.IsolatedVPC && c.PricingEndpoint != "" {
		errs = append(errs, errors.New("--isolated-vpc and --pricing-endpoint contradict each other: an isolated VPC never asks the Pricing API; drop one"))
	}
	if err := temporalconn.Validate(c.Temporal); err != nil {
		errs = append(errs, err)
	}
	// The window as the Provisioner gets it, defaults filled in: it ignores one it finds
	// wrong, so a wrong one must stop the worker here.
	if !c.batchWindow().Valid() {
		errs = append(errs, fmt.Errorf("--batch-idle-duration %s and --batch-max-duration %s (BATCH_IDLE_DURATION, BATCH_MAX_DURATION) must satisfy 0 < idle <= max <= %s, where 0 means the default (%s and %s)",
			c.BatchIdle, c.BatchMax, workflows.MaxBatchMax, workflows.DefaultBatchIdle, workflows.DefaultBatchMax))
	}
	errs = append(errs, c.Tuning.validate()...)
	if c.LogFormat != "" && c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("--log-format (LOG_FORMAT) %q must be json or text", c.LogFormat))
	}
	for _, a := range []struct{ flag, addr string }{{"--metrics-addr (METRICS_PORT)", c.MetricsAddr}, {"--health-probe-addr (HEALTH_PROBE_PORT)", c.HealthProbeAddr}} {
		if a.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(a.addr); err != nil || !validPort(port) {
			errs = append(errs, fmt.Errorf("%s %q must be [host]:port with a port from 1 to 65535 (0 for any, in tests)", a.flag, a.addr))
		}
	}
	errs = append(errs, portClashes([]listener{
		{"--metrics-addr (METRICS_PORT)", c.MetricsAddr}, {"--health-probe-addr (HEALTH_PROBE_PORT)", c.HealthProbeAddr}, {"--webhook-addr", c.WebhookAddr},
	})...)
	if c.EC2Endpoint != "" && !isHTTPURL(c.EC2Endpoint) {
		errs = append(errs, fmt.Errorf("--ec2-endpoint %q must be an http:// or https:// URL with a host", c.EC2Endpoint))
	}
	for _, e := range []struct{ flag, value string }{
		{"--sqs-endpoint", c.SQSEndpoint}, {"--pricing-endpoint", c.PricingEndpoint}, {"--ssm-endpoint", c.SSMEndpoint}, {"--iam-endpoint", c.IAMEndpoint}, {"--eks-endpoint", c.EKSEndpoint},
	} {
		if e.value != "" && !isHTTPURL(e.value) {
			errs = append(errs, fmt.Errorf("%s %q must be an http:// or https:// URL with a host", e.flag, e.value))
		}
	}
	if c.ClusterEndpoint != "" && !strings.HasPrefix(c.ClusterEndpoint, "https://") {
		errs = append(errs, fmt.Errorf("--cluster-endpoint %q must be the API server's https:// URL", c.ClusterEndpoint))
	}
	if c.ClusterCABundle != "" {
		if _, err := base64.StdEncoding.DecodeString(c.ClusterCABundle); err != nil {
			errs = append(errs, fmt.Errorf("--cluster-ca-bundle must be base64 of the CA's PEM, as EKS shows it: %v", err))
		}
	}
	return errors.Join(errs...)
}

// listener is a listen address and the setting that gives it.
type listener struct{ flag, addr string }

// portClashes names each pair of listeners that would take the same port, so the worker
// fails at once rather than when the second one listens. Port 0 (any) never clashes.
func portClashes(ls []listener) []error {
	var errs []error
	for i, a := range ls {
		for _, b := range ls[i+1:] {
			if samePort(a.addr, b.addr) {
				errs = append(errs, fmt.Errorf("%s %q and %s %q take the same port: give them different ports", a.flag, a.addr, b.flag, b.addr))
			}
		}
	}
	return errs
}

// samePort is true when listening on both a and b would clash: one port, on one host or on
// every interface.
func samePort(a, b string) bool {
	hostA, portA, errA := net.SplitHostPort(a)
	hostB, portB, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || portA != portB || portA == "0" {
		return false
	}
	every := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return hostA == hostB || every(hostA) || every(hostB)
}

// batchWindow is the batching window this worker asks the Provisioner for; 0 means the
// default.
func (c Config) batchWindow() *workflows.BatchWindow {
	return &workflows.BatchWindow{
		Idle: workflows.Duration(cmp.Or(c.BatchIdle, workflows.DefaultBatchIdle)),
		Max:  workflows.Duration(cmp.Or(c.BatchMax, workflows.DefaultBatchMax)),
	}
}

// isHTTPURL is true for an absolute http(s) URL naming a host; the SDK would only fail on
// anything else at the first EC2 call, long after startup.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// envInt reads a whole number from the environment; a value that is not one is left for
// Validate to name, as -1.
func envInt(getenv func(string) string, key string, def int) int {
	v := getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// envBool reads a boolean from the environment as Karpenter's settings do ("true", "1"); a
// value that is not one reads as false.
func envBool(getenv func(string) string, key string) bool {
	b, err := strconv.ParseBool(getenv(key))
	return err == nil && b
}

// envDuration reads a Go duration ("1s", "500ms") from the environment; a value that is not
// one is reported by name.
func envDuration(getenv func(string) string, key string, def time.Duration, errs *[]error) time.Duration {
	return envParsed(getenv, key, def, time.ParseDuration, "a duration such as 1s or 500ms", errs)
}

// envParsed reads a value from the environment with parse; one that does not parse is
// reported by name, saying what it must be, and the default stands.
func envParsed[T any](getenv func(string) string, key string, def T, parse func(string) (T, error), mustBe string, errs *[]error) T {
	v := getenv(key)
	if v == "" {
		return def
	}
	parsed, err := parse(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q must be %s", key, v, mustBe))
		return def
	}
	return parsed
}

// envPortAddr turns a port from the environment into a listen address on every interface,
// as a pod's probes and Prometheus reach it.
func envPortAddr(getenv func(string) string, key string, def int, errs *[]error) string {
	v := getenv(key)
	if v == "" {
		return ":" + strconv.Itoa(def)
	}
	// 0 would be any free port, which nothing could scrape or probe.
	if !validPort(v) || v == "0" {
		*errs = append(*errs, fmt.Errorf("%s=%q must be a port from 1 to 65535", key, v))
	}
	return ":" + v
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// NewLogger writes the worker's logs to w: JSON lines by default, as log collectors in a
// cluster expect, or text for a terminal; at the configured level.
func NewLogger(w io.Writer, c Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
