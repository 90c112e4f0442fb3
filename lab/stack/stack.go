package stack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"go.temporal.io/sdk/contrib/envconfig"
	"k8s.io/apimachinery/pkg/api/resource"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/iam"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/ekssim"
	"github.com/nodewright/nodewright/lab/faultproxy"
	"github.com/nodewright/nodewright/lab/iampolicy"
	"github.com/nodewright/nodewright/lab/iamsim"
	"github.com/nodewright/nodewright/lab/kube"
	"github.com/nodewright/nodewright/lab/kubelet"
	"github.com/nodewright/nodewright/lab/marketsim"
	"github.com/nodewright/nodewright/lab/pricingsim"
	"github.com/nodewright/nodewright/lab/sqssim"
	"github.com/nodewright/nodewright/lab/ssmsim"
	"github.com/nodewright/nodewright/lab/temporal"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
	"github.com/nodewright/nodewright/worker"
	"github.com/nodewright/nodewright/workflows"
)

// ClusterName is the lab cluster's name, as instances are tagged with it.
const ClusterName = "lab"

// Options configure the lab. Ports of 0 pick free ones (tests); the lab command passes the
// well-known ones.
type Options struct {
	Dir string // default .lab
	// Region is the simulated region, default us-east-1; it must have embedded prices
	// (catalog.Regions). Its zones are ZonesOf(Region).
	Region       string
	TemporalPort int
	UIPort       int // temporal.NoUI disables the Web UI
	KubePort     int
	EC2Port      int
	SQSPort      int
	SSMPort      int
	IAMPort      int
	EKSPort      int
	PricingPort  int
	DBFile       string        // Temporal's SQLite file; "" keeps it in memory
	BootDelay    time.Duration // simulated instance boot time
	// ShutdownDelay is how long a terminated instance stays shutting-down, its kubelet stopped.
	ShutdownDelay time.Duration
	// TemporalTLS serves Temporal's frontend over TLS, with a CA made at Start; the files a
	// client in another process needs go to <Dir>/temporal-tls, named by Stack.Temporal.TLS()
	// and listed by Stack.Temporal.ClientEnv(). TemporalMutualTLS also requires clients to
	// present the client certificate written there; it implies TemporalTLS.
	TemporalTLS       bool
	TemporalMutualTLS bool
	// Log receives the lab's own events; ComponentLog receives the noisy logs of Temporal and
	// Kubernetes. nil discards.
	Log          *slog.Logger
	ComponentLog io.Writer
	// TemporalDynamicConfig overrides Temporal server dynamic config (tests use it to force
	// continue-as-new early).
	TemporalDynamicConfig map[string]any
	// NoIAMPolicy turns off what the lab does by default: the EC2 simulator authorises every
	// request against iam/controller-policy.json, as installed for this cluster, and refuses
	// what it denies with UnauthorizedOperation. Set it only to tell a policy problem from
	// another while debugging.
	NoIAMPolicy bool
	// EC2Chaos are the EC2 simulator's random faults from the start; Stack.EC2.SetChaos
	// changes them later.
	EC2Chaos ec2sim.Chaos
	// KubeFaults, when set, puts a proxy failing that fraction of requests between the worker
	// and the kube-apiserver (WorkerConfig aims the worker at it); the kube-scheduler and
	// controllers keep the direct address. Stack.KubeProxy.SetFaults changes it later.
	KubeFaults    *faultproxy.Faults
	KubeProxyPort int
	// KubeAuditLog, when set, is where the API server records each request the worker's
	// service account makes (the end-to-end benchmark counts them there).
	KubeAuditLog string
	// MarketSeed seeds which offerings the region lacks and the spot price walks; the lab
	// command passes --chaos-seed.
	MarketSeed int64
	// PricingUnreachable starts the Pricing simulator dropping every connection, as a Pricing
	// API the network cannot reach, so the worker falls back to its embedded prices;
	// Stack.Pricing.SetReachable changes it later.
	PricingUnreachable bool
}

// Stack is a running lab.
type Stack struct {
	Dir    string
	Region string
	Zones  []string
	// Market is the region's market: the EC2 simulator sells from it and the Pricing
	// simulator prices the region from it.
	Market   *marketsim.Market
	Temporal *temporal.Server
	Kube     *kube.Cluster
	EC2      *ec2sim.Sim
	EC2URL   string
	SQS      *sqssim.Sim
	SQSURL   string
	SSM      *ssmsim.Sim
	SSMURL   string
	IAM      *iamsim.Sim
	IAMURL   string
	EKS      *ekssim.Sim
	EKSURL   string
	// Pricing is the Price List API, for every region with embedded prices.
	Pricing    *pricingsim.Sim
	PricingURL string
	Kubelet    *kubelet.Kubelet
	Types      []catalog.Type
	// KubeProxy is the worker's way to the API server when Options.KubeFaults is set.
	KubeProxy *kube.FaultProxy

	cancel context.CancelFunc
	done   chan struct{}
	// temporalOptions start Temporal again in RestartTemporal.
	temporalOptions temporal.Options
}

// Start brings the lab up. Stop it with Stop.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	region, err := regionOf(o)
	if err != nil {
		return nil, err
	}
	if o.Dir == "" {
		o.Dir = ".lab"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("lab directory %s: %w", o.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create lab directory %s: %w", dir, err)
	}
	types, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Stack{Dir: dir, Region: region, Zones: ZonesOf(region), Types: types, cancel: cancel, done: make(chan struct{})}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()

	componentLog := slog.New(slog.DiscardHandler)
	if o.ComponentLog != nil {
		componentLog = slog.New(slog.NewTextHandler(o.ComponentLog, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if err := s.startTemporal(ctx, o, componentLog); err != nil {
		return nil, err
	}
	s.Kube, err = kube.Start(ctx, kube.Options{Dir: dir, Port: o.KubePort, Log: o.ComponentLog, AuditLog: o.KubeAuditLog})
	if err != nil {
		return nil, fmt.Errorf("start Kubernetes: %w", err)
	}
	if o.KubeFaults != nil {
		if s.KubeProxy, err = s.Kube.StartFaultProxy(ctx, o.KubeProxyPort, *o.KubeFaults); err != nil {
			return nil, fmt.Errorf("start the API server's fault proxy: %w", err)
		}
	}
	k8s, err := s.kubernetesVersion()
	if err != nil {
		return nil, err
	}
	images := ec2sim.DefaultImages(k8s)
	var policy *iampolicy.Policy
	if !o.NoIAMPolicy {
		if policy, err = controllerPolicy(region); err != nil {
			return nil, err
		}
	}
	if err := s.startMarket(ctx, o, images, policy); err != nil {
		return nil, err
	}
	s.SQS = sqssim.New(sqssim.Options{Region: region})
	if err := s.SQS.CreateQueue(InterruptionQueue, nil); err != nil {
		return nil, fmt.Errorf("create interruption queue: %w", err)
	}
	s.SQSURL, err = s.SQS.Serve(ctx, fmt.Sprintf("127.0.0.1:%d", o.SQSPort))
	if err != nil {
		return nil, fmt.Errorf("start SQS simulator: %w", err)
	}
	if err := s.startAWSControlPlane(ctx, o, k8s, images); err != nil {
		return nil, err
	}
	// A machine's user data must name this cluster, its API server and its CA for its node to
	// join, as on EKS.
	s.Kubelet = kubelet.New(s.Kube.Client, types, kubelet.Options{
		Log:     o.Log.With("component", "kubelet"),
		Cluster: kubelet.Cluster{Name: ClusterName, Endpoint: s.Kube.URL, CA: s.Kube.Admin.CAData, Admits: s.admits},
	})
	go func() { _ = s.Kubelet.Run(ctx) }()
	events, stopWatch := s.EC2.Watch()
	go func() {
		defer close(s.done)
		defer stopWatch()
		s.bridge(ctx, events, o.Log)
	}()
	return s, nil
}

// startTemporal starts Temporal, with TLS as the options ask. The TLS material is kept in
// temporalOptions, so RestartTemporal serves the same certificates clients already trust.
func (s *Stack) startTemporal(ctx context.Context, o Options, componentLog *slog.Logger) error {
	s.temporalOptions = temporal.Options{
		Port: o.TemporalPort, UIPort: o.UIPort, DBFile: o.DBFile,
		SearchAttributes: temporal.DefaultSearchAttributes(), Logger: componentLog,
		DynamicConfig: o.TemporalDynamicConfig,
	}
	if o.TemporalTLS || o.TemporalMutualTLS {
		tlsFiles, err := temporal.NewTLS(filepath.Join(s.Dir, "temporal-tls"), o.TemporalMutualTLS)
		if err != nil {
			return fmt.Errorf("start Temporal: %w", err)
		}
		s.temporalOptions.TLS = tlsFiles
	}
	var err error
	if s.Temporal, err = temporal.Start(ctx, s.temporalOptions); err != nil {
		return fmt.Errorf("start Temporal: %w", err)
	}
	return nil
}

// controllerPolicy is the worker's IAM policy as the stack in iam/cloudformation.yaml would
// install it for the lab's cluster, in the EC2 simulator's account and the region.
func controllerPolicy(region string) (*iampolicy.Policy, error) {
	doc, err := iampolicy.Substitute(iam.ControllerPolicy(), map[string]string{
		"ClusterName": ClusterName, "AWS::Region": region, "AWS::AccountId": ec2sim.AccountID, "AWS::Partition": "aws",
		"InterruptionQueueName": InterruptionQueue, "NodeRoleName": "NodewrightNodeRole-" + ClusterName,
	})
	if err != nil {
		return nil, fmt.Errorf("controller IAM policy: %w", err)
	}
	policy, err := iampolicy.Parse([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("controller IAM policy: %w", err)
	}
	return policy, nil
}

// bridge boots a Node for every instance that starts running and shuts it down when the
// instance terminates, as machines and their kubelets would.
func (s *Stack) bridge(ctx context.Context, events <-chan ec2sim.Event, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			inst := e.Instance
			switch e.Kind {
			case ec2sim.InstanceRunning:
				m := machineOf(inst)
				go func() {
					if err := s.Kubelet.Boot(ctx, m); err != nil && ctx.Err() == nil {
						log.Error("kubelet boot", "instance", m.InstanceID, "err", err)
					}
				}()
			case ec2sim.InstanceShuttingDown, ec2sim.InstanceTerminated:
				// The OS stops as the instance starts shutting down; Shutdown is idempotent.
				go func() {
					if err := s.Kubelet.Shutdown(ctx, inst.ID); err != nil && ctx.Err() == nil {
						log.Error("kubelet shutdown", "instance", inst.ID, "err", err)
					}
				}()
			}
		}
	}
}

// machineOf is what the kubelet of a running instance knows of its machine.
func machineOf(inst ec2sim.Instance) kubelet.Machine {
	return kubelet.Machine{
		InstanceID: inst.ID, Type: inst.Type, Zone: inst.Zone, CapacityType: inst.CapacityType,
		Hostname: inst.PrivateDNSName, PrivateIP: inst.PrivateIP, UserData: inst.UserData,
		InstanceProfile: inst.InstanceProfile, RootDevice: inst.RootDeviceName, Volumes: volumeSizes(inst.Volumes),
	}
}

// volumeSizes are an instance's EBS volumes as its OS sees them: a size by device. A volume
// without a size is left out.
func volumeSizes(volumes []ec2sim.Volume) map[string]resource.Quantity {
	out := map[string]resource.Quantity{}
	for _, v := range volumes {
		if v.SizeGiB > 0 {
			out[v.DeviceName] = *resource.NewQuantity(int64(v.SizeGiB)<<30, resource.BinarySI)
		}
	}
	return out
}

// WorkerConfig is the configuration a worker needs to serve this lab. With no NodePool file
// it reads NodePools from the API server, serving the CRDs' conversion webhook on a free
// loopback port. Its Temporal connection is TemporalProfile's.
func (s *Stack) WorkerConfig(nodePoolsFile string) worker.Config {
	cfg := worker.Config{
		Temporal:            TemporalProfile(s.Temporal),
		TaskQueue:           workflows.TaskQueue,
		Kubeconfig:          s.WorkerKubeconfig(),
		Region:              s.Region,
		EC2Endpoint:         s.EC2URL,
		ClusterName:         ClusterName,
		NodePoolsFile:       nodePoolsFile,
		Credentials:         LabCredentials(),
		HTTPClient:          ec2sim.HTTPClient(),
		InterruptionQueue:   InterruptionQueue,
		SQSEndpoint:         s.SQSURL,
		SSMEndpoint:         s.SSMURL,
		IAMEndpoint:         s.IAMURL,
		EKSEndpoint:         s.EKSURL,
		PricingEndpoint:     s.PricingURL,
		NodeClassGroup:      awsv1.Group,
		GarbageCollectEvery: workflows.DefaultGarbageCollectEvery,
	}
	if nodePoolsFile == "" {
		port := freePort()
		cfg.WebhookAddr = fmt.Sprintf("127.0.0.1:%d", port)
		cfg.WebhookURL = fmt.Sprintf("https://127.0.0.1:%d", port)
	}
	return cfg
}

// WorkerArgs are the worker binary's flags for cfg, as `lab up` prints them, for a suite that
// runs the worker as its own process; metrics and health probes are off.
func WorkerArgs(cfg worker.Config) []string {
	return []string{
		"--temporal-address", cfg.Temporal.Address, "--namespace", cfg.Temporal.Namespace,
		"--kubeconfig", cfg.Kubeconfig, "--cluster-name", cfg.ClusterName, "--region", cfg.Region,
		"--ec2-endpoint", cfg.EC2Endpoint, "--sqs-endpoint", cfg.SQSEndpoint, "--interruption-queue", cfg.InterruptionQueue,
		"--ssm-endpoint", cfg.SSMEndpoint, "--iam-endpoint", cfg.IAMEndpoint, "--eks-endpoint", cfg.EKSEndpoint,
		"--pricing-endpoint", cfg.PricingEndpoint,
		"--webhook-addr", cfg.WebhookAddr, "--webhook-url", cfg.WebhookURL, "--metrics-addr", "", "--health-probe-addr", "",
	}
}

// TemporalProfile is how a client reaches srv, as the SDK's environment configuration would
// describe it: over TLS, with the lab's CA (and client certificate under mutual TLS), when srv
// serves TLS.
func TemporalProfile(srv *temporal.Server) envconfig.ClientConfigProfile {
	p := envconfig.ClientConfigProfile{Address: srv.FrontendAddress(), Namespace: srv.Namespace()}
	if t := srv.TLS(); t != nil {
		p.TLS = &envconfig.ClientConfigTLS{ServerCACertPath: t.CACertFile, ClientCertPath: t.ClientCertFile, ClientKeyPath: t.ClientKeyFile, ServerName: t.ServerName}
	}
	return p
}

// WorkerKubeconfig is the worker's kubeconfig file: through the fault proxy when there is one.
func (s *Stack) WorkerKubeconfig() string {
	if s.KubeProxy != nil {
		return s.KubeProxy.Kubeconfig
	}
	return s.Kube.WorkerKubeconfig
}

// freePort asks the kernel for a loopback port nobody listens on; the worker binds it a moment
// later.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 8443
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// InterruptionQueue is the SQS queue EC2's interruption events arrive on in the lab.
const InterruptionQueue = "nodewright-interruptions"

// InterruptSpot has EC2 warn that it will reclaim a spot instance after notice (two
// minutes in AWS), through the interruption queue as EventBridge would deliver it.
func (s *Stack) InterruptSpot(instanceID string, notice time.Duration) error {
	return s.EC2.InterruptSpot(instanceID, notice, func(body string) error {
		return s.SQS.Send(InterruptionQueue, body)
	})
}

// LabCredentials are the static keys the EC2 simulator accepts (it checks no signature).
func LabCredentials() credentials.StaticCredentialsProvider {
	return credentials.NewStaticCredentialsProvider("lab", "lab", "")
}

// RestartTemporal stops the Temporal server, waits down, and starts it again on the same
// frontend port and database file, as an operator's restart would; workers and clients
// reconnect by themselves. Without Options.DBFile the restarted server has forgotten every
// workflow.
func (s *Stack) RestartTemporal(ctx context.Context, down time.Duration) error {
	o := s.temporalOptions
	_, port, err := net.SplitHostPort(s.Temporal.FrontendAddress())
	if err != nil {
		return fmt.Errorf("restart Temporal: frontend address %s: %w", s.Temporal.FrontendAddress(), err)
	}
	if o.Port, err = strconv.Atoi(port); err != nil {
		return fmt.Errorf("restart Temporal: frontend port %s: %w", port, err)
	}
	if s.Temporal.UIAddress() == "" {
		o.UIPort = temporal.NoUI
	} else if o.UIPort, err = portOf(s.Temporal.UIAddress()); err != nil {
		return fmt.Errorf("restart Temporal: %w", err)
	}
	if err := s.Temporal.Stop(); err != nil {
		return fmt.Errorf("restart Temporal: %w", err)
	}
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.Temporal, err = temporal.Start(ctx, o); err != nil {
		return fmt.Errorf("restart Temporal: %w", err)
	}
	return nil
}

func portOf(address string) (int, error) {
	u, err := url.Parse(address)
	if err != nil {
		return 0, fmt.Errorf("address %s: %w", address, err)
	}
	return strconv.Atoi(u.Port())
}

// Stop shuts everything down.
func (s *Stack) Stop() {
	s.cancel()
	if s.EC2 != nil {
		s.EC2.Close()
	}
	if s.SQS != nil {
		s.SQS.Close()
	}
	if s.Kube != nil {
		s.Kube.Stop()
	}
	if s.Temporal != nil {
		_ = s.Temporal.Stop()
	}
}
