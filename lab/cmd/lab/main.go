// Command lab runs Nodewright's local lab: embedded Temporal with its Web UI, a Kubernetes
// control plane, an EC2 simulator and kubelet stand-ins, all in one process.
//
//	lab up      run until Ctrl-C, printing every address
//	lab demo    run the demo on a fresh lab and exit
package main

import (
	"context"
	"flag"
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

	"github.com/nodewright/nodewright/lab/demo"
	"github.com/nodewright/nodewright/lab/stack"
	"github.com/nodewright/nodewright/lab/temporal"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "up" && os.Args[1] != "demo") {
		fmt.Fprintln(os.Stderr, "usage: lab up|demo [flags]  (lab up -h lists the flags)")
		os.Exit(2)
	}
	cmd := os.Args[1]
	regions, err := catalog.Regions()
	if err != nil {
		fail(err)
	}
	fs := flag.NewFlagSet("lab "+cmd, flag.ExitOnError)
	dir := fs.String("dir", ".lab", "directory for kubeconfigs, logs and state")
	region := fs.String("region", stack.DefaultRegion, "the simulated region (its zones are <region>a, b and c); one with embedded prices: "+strings.Join(regions, ", "))
	temporalPort := fs.Int("temporal-port", 7233, "Temporal frontend port")
	uiPort := fs.Int("temporal-ui-port", 8233, "Temporal Web UI port")
	kubePort := fs.Int("kube-port", 6443, "kube-apiserver port")
	ec2Port := fs.Int("ec2-port", 4566, "EC2 simulator port")
	sqsPort := fs.Int("sqs-port", 4576, "SQS simulator port")
	ssmPort := fs.Int("ssm-port", 4583, "SSM simulator port (the node images' public parameters)")
	iamPort := fs.Int("iam-port", 4593, "IAM simulator port (instance profiles)")
	eksPort := fs.Int("eks-port", 4599, "EKS simulator port (the cluster's endpoint and CA)")
	pricingPort := fs.Int("pricing-port", 4589, "Pricing simulator port (the Price List API's on-demand prices)")
	pricingUnreachable := fs.Bool("pricing-unreachable", false, "start the Pricing simulator dropping every connection, as a Pricing API the network cannot reach")
	db := fs.String("db", "", "SQLite file to persist Temporal in; empty keeps it in memory")
	bootDelay := fs.Duration("boot-delay", 2*time.Second, "simulated instance boot time")
	shutdownDelay := fs.Duration("shutdown-delay", 2*time.Second, "how long a terminated instance stays shutting-down")
	chaosFlags := addChaosFlags(fs)
	var temporalTLS, temporalMTLS bool
	if cmd == "up" { // the demo's in-process worker dials Temporal without TLS
		fs.BoolVar(&temporalTLS, "temporal-tls", false, "serve the Temporal frontend over TLS with a throwaway CA (written to <dir>/temporal-tls/ca.crt); prints the client environment")
		fs.BoolVar(&temporalMTLS, "temporal-mtls", false, "like --temporal-tls, and clients must also present the client certificate written to <dir>/temporal-tls")
	}
	_ = fs.Parse(os.Args[2:])
	ec2Chaos, kubeFaults, err := chaosFlags.settings()
	if err != nil {
		fail(err)
	}
	if err := stack.CheckRegion(*region); err != nil {
		fail(fmt.Errorf("--region: %w", err))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fail(err)
	}
	componentLog, err := os.Create(filepath.Join(*dir, "components.log"))
	if err != nil {
		fail(err)
	}
	defer componentLog.Close()
	// The Web UI server reports through the standard logger (e.g. loading its TLS material).
	log.SetOutput(componentLog)
	labLog := slog.New(slog.NewTextHandler(io.MultiWriter(componentLog), nil))

	fmt.Println("starting the lab (Temporal, Kubernetes, the AWS simulators)...")
	lab, err := stack.Start(ctx, stack.Options{
		Dir: *dir, Region: *region, TemporalPort: *temporalPort, UIPort: *uiPort, KubePort: *kubePort, EC2Port: *ec2Port, SQSPort: *sqsPort,
		SSMPort: *ssmPort, IAMPort: *iamPort, EKSPort: *eksPort, PricingPort: *pricingPort, PricingUnreachable: *pricingUnreachable,
		DBFile: *db, BootDelay: *bootDelay, ShutdownDelay: *shutdownDelay, Log: labLog, ComponentLog: componentLog,
		EC2Chaos: ec2Chaos, KubeFaults: kubeFaults, KubeProxyPort: chaosFlags.kubeProxyPort, MarketSeed: int64(chaosFlags.seed),
		TemporalTLS: temporalTLS, TemporalMutualTLS: temporalMTLS,
	})
	if err != nil {
		fail(err)
	}
	defer lab.Stop()

	switch cmd {
	case "up":
		// A NodePool to start from: the demo's, to kubectl apply.
		pools := filepath.Join(lab.Dir, "nodepools.yaml")
		if _, err := os.Stat(pools); os.IsNotExist(err) {
			if err := os.WriteFile(pools, []byte(demo.NodePoolYAML), 0o644); err != nil {
				fail(err)
			}
		}
		printAddresses(lab)
		<-ctx.Done()
		fmt.Println("\nstopping the lab")
	case "demo":
		res, err := demo.Run(ctx, lab, demo.Options{Out: os.Stdout})
		if err != nil {
			fail(fmt.Errorf("demo: %w", err))
		}
		if err := demo.PrintSummary(os.Stdout, res, rel(lab.Kube.AdminKubeconfig)); err != nil {
			fail(err)
		}
	}
}

func printAddresses(lab *stack.Stack) {
	pricing := "answering"
	if !lab.Pricing.Reachable() {
		pricing = "unreachable: it drops every connection (--pricing-unreachable)"
	}
	tlsSummary, workerTLSEnv := temporalTLSText(lab.Temporal.TLS(), lab.Temporal.ClientEnv())
	fmt.Printf(`lab is up (Ctrl-C to stop)
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

func fail(err error) {
	fmt.Fprintln(os.Stderr, "lab:", err)
	os.Exit(1)
}
