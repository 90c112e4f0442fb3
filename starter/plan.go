package starter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/apis/loader"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
	"github.com/nodewright/nodewright/starter/advise"
	"github.com/nodewright/nodewright/starter/dryrun"
	"github.com/nodewright/nodewright/workflows"
)

// planOptions are plan's flags.
type planOptions struct {
	files       []string
	fromCluster bool
	live        bool
	region      string
	zones       []string
	kubeconfig  string
	kubeContext string
}

// planFlags binds plan's flags.
func planFlags(fs *pflag.FlagSet, c *command) {
	o := &c.plan
	fs.StringArrayVarP(&o.files, "filename", "f", nil, "manifest of workloads (Deployments, StatefulSets, ReplicaSets, Jobs, Pods, DaemonSets), NodePools/EC2NodeClasses and the ClusterPolicy; repeat for more; - reads stdin, a directory its .yaml, .yml and .json files")
	fs.BoolVar(&o.fromCluster, "from-cluster", false, "plan against the cluster's NodePools, EC2NodeClasses, nodes, pods and DaemonSets too")
	fs.BoolVar(&o.live, "live", false, "ask the running Provisioner (its simulate update) for the plan of the cluster's pending pods, at the worker's live prices")
	fs.StringVar(&o.region, "region", catalog.DefaultRegion, "region whose embedded prices price the plan")
	fs.StringSliceVar(&o.zones, "zones", nil, "zones an EC2NodeClass from a file is taken to have subnets in (default the region's a, b and c)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig for --from-cluster (default: KUBECONFIG, then ~/.kube/config)")
	fs.StringVar(&o.kubeContext, "context", "", "kubeconfig context for --from-cluster")
}

// planArgs checks plan's command line: something to plan, and --live on its own.
func planArgs(c *command, args []string) error {
	o := c.plan
	switch {
	case len(args) != 0:
		return fmt.Errorf("takes files with -f, not arguments: got %q", args)
	case o.live && (len(o.files) > 0 || o.fromCluster):
		return errors.New("--live plans the cluster's pending pods in the worker; it takes no -f or --from-cluster")
	case len(o.files) == 0 && !o.fromCluster && !o.live:
		return errors.New("plan needs -f FILE, --from-cluster or --live")
	case o.live && (o.region != catalog.DefaultRegion || len(o.zones) > 0):
		return errors.New("--live plans at the worker's prices and zones; it takes no --region or --zones")
	}
	regions, err := catalog.Regions()
	if err != nil {
		return err
	}
	if !slices.Contains(regions, o.region) {
		return fmt.Errorf("--region %q has no embedded prices; use one of %s", o.region, strings.Join(regions, ", "))
	}
	for _, z := range o.zones {
		// An availability zone is its region and one letter (us-east-1a).
		if suffix, ok := strings.CutPrefix(z, o.region); !ok || len(suffix) != 1 || suffix[0] < 'a' || suffix[0] > 'z' {
			return fmt.Errorf("--zones %q is not a zone of --region %s (say %sa)", z, o.region, o.region)
		}
	}
	return nil
}

// runPlan reads the files and/or the cluster, plans them and prints the plan.
func runPlan(ctx context.Context, c command, stdin io.Reader, out, errOut io.Writer) error {
	in, warnings, err := planInput(ctx, c.plan, stdin)
	for _, w := range warnings {
		fmt.Fprintln(errOut, "warning:", w)
	}
	if err != nil {
		return err
	}
	sim, warnings, err := dryrun.Run(ctx, in, dryrun.Options{Region: c.plan.region, Zones: c.plan.zones})
	for _, w := range warnings {
		fmt.Fprintln(errOut, "warning:", w)
	}
	if err != nil {
		return err
	}
	return printPlan(out, c.output, sim)
}

// planInput reads the cluster (with --from-cluster) and the files.
func planInput(ctx context.Context, o planOptions, stdin io.Reader) (dryrun.Input, []string, error) {
	ld, err := loader.New()
	if err != nil {
		return dryrun.Input{}, nil, err
	}
	var in dryrun.Input
	var warnings []string
	if o.fromCluster {
		kube, dyn, err := kubeClients(o.kubeconfig, o.kubeContext)
		if err != nil {
			return in, nil, err
		}
		pools, w, err := advise.NodePoolsFromCluster(ctx, dyn, ld)
		if err != nil {
			return in, w, fmt.Errorf("plan: %w", err)
		}
		w2, err := advise.ClusterPoliciesFromCluster(ctx, dyn, &pools)
		warnings, in.Cluster = append(w, w2...), &pools
		if err != nil {
			return in, warnings, fmt.Errorf("plan: %w", err)
		}
		if in.State, err = activities.ReadCluster(ctx, kube); err != nil {
			return in, warnings, fmt.Errorf("plan: %w", err)
		}
	}
	files, err := manifestFiles(o.files)
	if err != nil {
		return in, warnings, fmt.Errorf("plan: %w", err)
	}
	for _, f := range files {
		data, err := readFileOrStdin(f, stdin)
		if err != nil {
			return in, warnings, fmt.Errorf("plan: %w", err)
		}
		w, err := advise.AddManifest(ctx, ld, f, data, &in.Files)
		warnings = append(warnings, w...)
		if err != nil {
			return in, warnings, fmt.Errorf("plan: %w", err)
		}
	}
	return in, warnings, nil
}

// runPlanLive asks the Provisioner for its dry run of the cluster's pending pods.
func runPlanLive(ctx context.Context, op *Operator, c command, out io.Writer) error {
	sim, err := op.Simulate(ctx, liveWait)
	if err != nil {
		return err
	}
	return printPlan(out, c.output, sim)
}

// sleep waits d, or less when ctx ends first, which it then returns.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// closingRetry is how soon plan --live asks again a Provisioner that was continuing as new.
const closingRetry = 2 * time.Second

// liveWait bounds plan --live. The update is answered by a worker, and with none polling
// the task queue it would wait for good; the dry run itself takes at most two attempts of
// two minutes.
const liveWait = 5 * time.Minute

// Simulate runs the Provisioner's simulate update: the plan it would make now, launched by
// nothing. It gives up after wait.
func (o *Operator) Simulate(ctx context.Context, wait time.Duration) (activities.Simulation, error) {
	var sim activities.Simulation
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var err error
	for {
		err = o.update(wctx, workflows.ProvisionerID, workflows.UpdateSimulate, workflows.SimulateRequest{}, &sim)
		if err == nil || !strings.Contains(err.Error(), workflows.SimulateClosing) || sleep(wctx, closingRetry) != nil {
			break
		}
		// The run that refused was about to continue as new; the next one answers.
	}
	if err != nil && ctx.Err() == nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
		return sim, fmt.Errorf("the Provisioner did not answer within %s: is a worker polling task queue %s?", wait, o.TaskQueue)
	}
	if isNotFound(err) {
		// The Provisioner starts on the first pending pod: a quiet cluster has none.
		return sim, fmt.Errorf("the Provisioner (workflow %s) is not running: it starts with the first pending pod, so none has been pending yet; `starter plan --from-cluster` plans the cluster without it", workflows.ProvisionerID)
	}
	return sim, err
}

// printPlan writes the plan in the chosen format; json and yaml are the Simulation.
func printPlan(w io.Writer, format outputFormat, sim activities.Simulation) error {
	switch format {
	case outputJSON, outputYAML:
		return writeStructured(w, format, sim)
	default:
		return dryrun.PrintTable(w, sim, format == outputWide)
	}
}
