// Command lab runs Nodewright's local lab: embedded Temporal with its Web UI, a Kubernetes
// control plane, an EC2 simulator and kubelet stand-ins, all in one process.
//
//	lab up      run until Ctrl-C, printing every address
//	lab demo    run the demo on a fresh lab and exit
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nodewright/nodewright/lab/demo"
	"github.com/nodewright/nodewright/lab/stack"
	"github.com/nodewright/nodewright/lab/temporal"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// version is what --version prints; `make build` sets it with -ldflags -X main.version=...
// (a linker flag can only set a package-level string).
var version = "dev"

const labLong = `lab runs Nodewright's local lab: embedded Temporal with its Web UI, a Kubernetes control
plane, an EC2 simulator and kubelet stand-ins, all in one process.

exit codes:
  0  the command succeeded (lab up: stopped by Ctrl-C)
  1  the lab or the demo failed
  2  the command line is malformed (nothing was started)`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// failure is a lab or demo that started and failed (exit code 1); any other error is a
// malformed command line (2): cobra's (unknown commands and flags) and the flags' checks.
type failure struct{ err error }

func (e failure) Error() string { return e.err.Error() }
func (e failure) Unwrap() error { return e.err }

// run executes the lab command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// Kubernetes' verflag, which the embedded control plane brings in, registers a --version of
	// its own on pflag's global flag set, and cobra offers that set's flags on every command:
	// the lab's flags are its own only.
	pflag.CommandLine = pflag.NewFlagSet("lab", pflag.ContinueOnError)
	root := rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "lab:", err)
	var failed failure
	if errors.As(err, &failed) {
		return 1
	}
	fmt.Fprintf(stderr, "run '%s -h' for usage\n", cmd.CommandPath())
	return 2
}

// rootCommand is lab with its two commands.
func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "lab",
		Short:         "run Nodewright's local lab",
		Long:          labLong,
		Version:       version,
		SilenceErrors: true, // run prints them with the exit code's hint
		SilenceUsage:  true,
		Args:          cobra.NoArgs, // cobra names an unknown command
		RunE: func(*cobra.Command, []string) error {
			return errors.New("no command given: lab up or lab demo")
		},
	}
	root.SetVersionTemplate("lab {{.Version}}\n")
	up := labCommand("up", "run the lab until Ctrl-C, printing every address and the worker's command line", true, labUp)
	demoCmd := labCommand("demo", "run the demo on a fresh lab and exit (make demo runs it)", false, labDemo)
	root.AddCommand(up, demoCmd)
	return root
}

// labCommand is a command that starts the lab its flags describe (with Temporal's TLS flags
// when withTLS) and hands it to use, with the command's output.
func labCommand(name, short string, withTLS bool, use func(context.Context, io.Writer, *stack.Stack) error) *cobra.Command {
	cmd := &cobra.Command{Use: name, Short: short, Args: cobra.NoArgs}
	flags := addLabFlags(cmd.Flags(), withTLS)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return withLab(cmd, flags, func(ctx context.Context, lab *stack.Stack) error { return use(ctx, cmd.OutOrStdout(), lab) })
	}
	return cmd
}

// labFlags are the settings of the lab both commands start.
type labFlags struct {
	dir, region, db                               string
	temporalPort, uiPort, kubePort                int
	ec2Port, sqsPort, ssmPort, iamPort, eksPort   int
	pricingPort                                   int
	pricingUnreachable, temporalTLS, temporalMTLS bool
	bootDelay, shutdownDelay                      time.Duration
	chaos                                         *chaosFlags
}

// addLabFlags adds the lab's flags to fs; withTLS adds Temporal's TLS flags, which only lab up
// has: the demo's in-process worker dials Temporal without TLS.
func addLabFlags(fs *pflag.FlagSet, withTLS bool) *labFlags {
	f := &labFlags{}
	regions, err := catalog.Regions()
	if err != nil {
		regions = []string{stack.DefaultRegion} // --region's check reports the catalog's error
	}
	fs.StringVar(&f.dir, "dir", ".lab", "directory for kubeconfigs, logs and state")
	fs.StringVar(&f.region, "region", stack.DefaultRegion, "the simulated region (its zones are <region>a, b and c); one with embedded prices: "+strings.Join(regions, ", "))
	fs.IntVar(&f.temporalPort, "temporal-port", 7233, "Temporal frontend port")
	fs.IntVar(&f.uiPort, "temporal-ui-port", 8233, "Temporal Web UI port")
	fs.IntVar(&f.kubePort, "kube-port", 6443, "kube-apiserver port")
	fs.IntVar(&f.ec2Port, "ec2-port", 4566, "EC2 simulator port")
	fs.IntVar(&f.sqsPort, "sqs-port", 4576, "SQS simulator port")
	fs.IntVar(&f.ssmPort, "ssm-port", 4583, "SSM simulator port (the node images' public parameters)")
	fs.IntVar(&f.iamPort, "iam-port", 4593, "IAM simulator port (instance profiles)")
	fs.IntVar(&f.eksPort, "eks-port", 4599, "EKS simulator port (the cluster's endpoint and CA)")
	fs.IntVar(&f.pricingPort, "pricing-port", 4589, "Pricing simulator port (the Price List API's on-demand prices)")
	fs.BoolVar(&f.pricingUnreachable, "pricing-unreachable", false, "start the Pricing simulator dropping every connection, as a Pricing API the network cannot reach")
	fs.StringVar(&f.db, "db", "", "SQLite file to persist Temporal in; empty keeps it in memory")
	fs.DurationVar(&f.bootDelay, "boot-delay", 2*time.Second, "simulated instance boot time")
	fs.DurationVar(&f.shutdownDelay, "shutdown-delay", 2*time.Second, "how long a terminated instance stays shutting-down")
	f.chaos = addChaosFlags(fs)
	if withTLS {
		fs.BoolVar(&f.temporalTLS, "temporal-tls", false, "serve the Temporal frontend over TLS with a throwaway CA (written to <dir>/temporal-tls/ca.crt); prints the client environment")
		fs.BoolVar(&f.temporalMTLS, "temporal-mtls", false, "like --temporal-tls, and clients must also present the client certificate written to <dir>/temporal-tls")
	}
	return f
}

// options checks the flags (an error names the bad one) and turns them into the stack's.
func (f *labFlags) options() (stack.Options, error) {
	ec2Chaos, kubeFaults, err := f.chaos.settings()
	if err != nil {
		return stack.Options{}, err
	}
	if err := stack.CheckRegion(f.region); err != nil {
		return stack.Options{}, fmt.Errorf("--region: %w", err)
	}
	return stack.Options{
		Dir: f.dir, Region: f.region, TemporalPort: f.temporalPort, UIPort: f.uiPort, KubePort: f.kubePort, EC2Port: f.ec2Port, SQSPort: f.sqsPort,
		SSMPort: f.ssmPort, IAMPort: f.iamPort, EKSPort: f.eksPort, PricingPort: f.pricingPort, PricingUnreachable: f.pricingUnreachable,
		DBFile: f.db, BootDelay: f.bootDelay, ShutdownDelay: f.shutdownDelay,
		EC2Chaos: ec2Chaos, KubeFaults: kubeFaults, KubeProxyPort: f.chaos.kubeProxyPort, MarketSeed: int64(f.chaos.seed),
		TemporalTLS: f.temporalTLS, TemporalMutualTLS: f.temporalMTLS,
	}, nil
}

// withLab starts the lab the flags describe, runs use on it and stops it. Component logs go
// to <dir>/components.log.
func withLab(cmd *cobra.Command, f *labFlags, use func(context.Context, *stack.Stack) error) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	if err := startAndUse(cmd, opts, use); err != nil {
		return failure{err}
	}
	return nil
}

func startAndUse(cmd *cobra.Command, opts stack.Options, use func(context.Context, *stack.Stack) error) error {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return err
	}
	componentLog, err := os.Create(filepath.Join(opts.Dir, "components.log"))
	if err != nil {
		return err
	}
	defer componentLog.Close()
	// The Web UI server reports through the standard logger (e.g. loading its TLS material).
	log.SetOutput(componentLog)
	opts.Log, opts.ComponentLog = slog.New(slog.NewTextHandler(componentLog, nil)), componentLog

	fmt.Fprintln(cmd.OutOrStdout(), "starting the lab (Temporal, Kubernetes, the AWS simulators)...")
	lab, err := stack.Start(cmd.Context(), opts)
	if err != nil {
		return err
	}
	defer lab.Stop()
	return use(cmd.Context(), lab)
}

// labUp writes a NodePool to start from (the demo's, to kubectl apply), prints the addresses
// and waits for Ctrl-C.
func labUp(ctx context.Context, out io.Writer, lab *stack.Stack) error {
	pools := filepath.Join(lab.Dir, "nodepools.yaml")
	if _, err := os.Stat(pools); os.IsNotExist(err) {
		if err := os.WriteFile(pools, []byte(demo.NodePoolYAML), 0o644); err != nil {
			return err
		}
	}
	printAddresses(out, lab)
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping the lab")
	return nil
}

// labDemo runs the demo and prints its summary.
func labDemo(ctx context.Context, out io.Writer, lab *stack.Stack) error {
	res, err := demo.Run(ctx, lab, demo.Options{Out: out})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return demo.PrintSummary(out, res, rel(lab.Kube.AdminKubeconfig))
}

func printAddresses(out io.Writer, lab *stack.Stack) {
	pricing := "answering"
	if !lab.Pricing.Reachable() {
		pricing = "unreachable: it drops every connection (--pricing-unreachable)"
	}
	tlsSummary, workerTLSEnv := temporalTLSText(lab.Temporal.TLS(), lab.Temporal.ClientEnv())
	fmt.Fprintf(out, `lab is up (Ctrl-C to stop)
  Temporal frontend:  %s  (namespace %s)
  Temporal Web UI:    %s
%s  kube-apiserver:     %s
  admin kubeconfig:   kubectl --kubeconfig %s get nodes
  worker kubeconfig:  %s
  EC2 simulator:      %s  (region %s, zones %v)
  SQS simulator:      %s  (interruption queue %s)
  SSM, IAM, EKS:      %s  %s  %s
  Pricing simulator:  %s  (%s)
  logs:               %s

run a worker against it (NodePools come from the API server; the CRDs are installed):
  %sAWS_ACCESS_KEY_ID=lab AWS_SECRET_ACCESS_KEY=lab bin/worker --temporal-address %s \
    --kubeconfig %s --region %s --ec2-endpoint %s --cluster-name %s \
    --sqs-endpoint %s --interruption-queue %s \
    --ssm-endpoint %s --iam-endpoint %s --eks-endpoint %s \
    --pricing-endpoint %s \
    --webhook-addr 127.0.0.1:8443 --webhook-url https://127.0.0.1:8443 --log-format text

then apply a NodePool and its EC2NodeClass as with Karpenter:
  kubectl --kubeconfig %s apply -f %s
  kubectl --kubeconfig %s get nodepools,ec2nodeclasses,nodeclaims
`, lab.Temporal.FrontendAddress(), lab.Temporal.Namespace(), lab.Temporal.UIAddress(), tlsSummary, lab.Kube.URL,
		rel(lab.Kube.AdminKubeconfig), rel(lab.WorkerKubeconfig()), lab.EC2URL, lab.Region, lab.Zones,
		lab.SQSURL, stack.InterruptionQueue, lab.SSMURL, lab.IAMURL, lab.EKSURL, lab.PricingURL, pricing,
		rel(filepath.Join(lab.Dir, "components.log")),
		workerTLSEnv, lab.Temporal.FrontendAddress(), rel(lab.WorkerKubeconfig()), lab.Region, lab.EC2URL, stack.ClusterName,
		lab.SQSURL, stack.InterruptionQueue, lab.SSMURL, lab.IAMURL, lab.EKSURL, lab.PricingURL,
		rel(lab.Kube.AdminKubeconfig), rel(filepath.Join(lab.Dir, "nodepools.yaml")), rel(lab.Kube.AdminKubeconfig))
}

// temporalTLSText is what lab up prints of Temporal's TLS: summary lines for the address list
// (the files, and the environment a worker or starter in another shell exports) and the TLS
// environment that prefixes the worker's command line. Both are empty without TLS.
func temporalTLSText(files *temporal.TLS, clientEnv []string) (summary, workerEnv string) {
	if files == nil {
		return "", ""
	}
	mode := "TLS"
	if files.RequireClientCert {
		mode = "mutual TLS (clients present client.crt)"
	}
	summary = fmt.Sprintf("  Temporal TLS:       %s, server name %s, files in %s\n  Temporal clients:   export %s\n",
		mode, files.ServerName, rel(filepath.Dir(files.CACertFile)), shellWords(clientEnv))
	return summary, shellWords(files.Env()) + " \\\n  "
}

// shellWords joins KEY=value words for a shell, quoting values a shell would split or expand.
func shellWords(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		key, value, _ := strings.Cut(w, "=")
		if strings.ContainsAny(value, " \t'\"$`\\!*?[]{}()<>|&;#~") {
			value = "'" + strings.ReplaceAll(value, "'", `'\''`) + "'"
		}
		quoted[i] = key + "=" + value
	}
	return strings.Join(quoted, " ")
}

func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
