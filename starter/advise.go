package starter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/nodewright/nodewright/apis/loader"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
	"github.com/nodewright/nodewright/starter/advise"
)

// adviseOptions are advise's flags.
type adviseOptions struct {
	files          []string
	fromCluster    bool
	output         string
	kubeconfig     string
	kubeContext    string
	skipNamespaces []string
	workerName     string
}

// errAdviseFailed is returned when a finding has severity error, so the command exits 1.
var errAdviseFailed = errors.New("advise found errors")

// defaultZones are the zones pools are judged in when neither nodes nor pools name any.
func defaultZones() []string { return []string{"us-east-1a", "us-east-1b", "us-east-1c"} }

// adviseFlags binds advise's flags.
func adviseFlags(fs *pflag.FlagSet, c *command) {
	o := &c.advise
	fs.StringArrayVarP(&o.files, "filename", "f", nil, "manifest to check (NodePools, EC2NodeClasses, workloads); repeat for more; - reads stdin, a directory its .yaml, .yml and .json files")
	fs.BoolVar(&o.fromCluster, "from-cluster", false, "check the cluster the kubeconfig points at")
	fs.StringVarP(&o.output, "output", "o", "table", "output format: table, wide (the same), json or yaml (the same fields)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig for --from-cluster (default: KUBECONFIG, then ~/.kube/config)")
	fs.StringVar(&o.kubeContext, "context", "", "kubeconfig context for --from-cluster")
	fs.StringSliceVar(&o.skipNamespaces, "skip-namespace", []string{"kube-system"}, "namespaces whose workloads are not checked (the worker's placement still is)")
	fs.StringVar(&o.workerName, "worker-name", "", "app.kubernetes.io/name of the worker's pods (default: the chart's, nodewright)")
}

// adviseArgs checks advise's command line: something to read, and a known output format.
func adviseArgs(c *command, args []string) error {
	o := c.advise
	switch {
	case len(args) != 0:
		return fmt.Errorf("takes files with -f, not arguments: got %q", args)
	case len(o.files) == 0 && !o.fromCluster:
		return errors.New("advise needs -f FILE or --from-cluster")
	case !slices.Contains(outputFormats(), o.output):
		return fmt.Errorf("-o %q must be one of %s", o.output, strings.Join(outputFormats(), ", "))
	}
	return nil
}

// runAdviseCommand is advise's entry in the command table.
func runAdviseCommand(ctx context.Context, c command, stdin io.Reader, out, errOut io.Writer) error {
	return runAdvise(ctx, c.advise, stdin, out, errOut)
}

// runAdvise reads the snapshot from the files and/or the cluster, checks it and prints the
// findings; it returns errAdviseFailed when one has severity error.
func runAdvise(ctx context.Context, o adviseOptions, stdin io.Reader, out, errOut io.Writer) error {
	ld, err := loader.New()
	if err != nil {
		return err
	}
	var snap advise.Snapshot
	var warnings []string
	if o.fromCluster {
		kube, dyn, err := kubeClients(o.kubeconfig, o.kubeContext)
		if err != nil {
			return fmt.Errorf("advise --from-cluster: %w", err)
		}
		if snap, warnings, err = advise.FromCluster(ctx, kube, dyn, ld); err != nil {
			return fmt.Errorf("advise: %w", err)
		}
	}
	files, err := manifestFiles(o.files)
	if err != nil {
		return fmt.Errorf("advise: %w", err)
	}
	for _, f := range files {
		data, err := readFileOrStdin(f, stdin)
		if err != nil {
			return fmt.Errorf("advise: %w", err)
		}
		w, err := advise.AddManifest(ctx, ld, f, data, &snap)
		warnings = append(warnings, w...)
		if err != nil {
			return fmt.Errorf("advise: %w", err)
		}
	}
	for _, w := range warnings {
		fmt.Fprintln(errOut, "warning:", w)
	}
	findings, err := check(snap, o)
	if err != nil {
		return err
	}
	if err := printFindings(out, outputFormat(o.output), findings); err != nil {
		return err
	}
	if advise.HasErrors(findings) {
		return errAdviseFailed
	}
	return nil
}

// printFindings writes the findings as a table (wide is the same: each finding is already
// whole), JSON, or the JSON's fields as YAML.
func printFindings(w io.Writer, format outputFormat, findings []advise.Finding) error {
	switch format {
	case outputJSON:
		return advise.PrintJSON(w, findings)
	case outputYAML:
		var buf bytes.Buffer
		if err := advise.PrintJSON(&buf, findings); err != nil {
			return err
		}
		data, err := yaml.JSONToYAML(buf.Bytes())
		if err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
		_, err = w.Write(data)
		return err
	default:
		return advise.PrintTable(w, findings)
	}
}

// check judges the snapshot against the embedded catalog offered in the zones it names.
func check(snap advise.Snapshot, o adviseOptions) ([]advise.Finding, error) {
	records, err := catalog.Load()
	if err != nil {
		return nil, fmt.Errorf("advise: load the instance-type catalog: %w", err)
	}
	zones := advise.Zones(&snap)
	if len(zones) == 0 {
		zones = defaultZones()
	}
	findings, err := advise.Check(snap, advise.Config{
		InstanceTypes:  catalog.InstanceTypes(records, zones),
		WorkerName:     o.workerName,
		SkipNamespaces: o.skipNamespaces,
	})
	if err != nil {
		return nil, fmt.Errorf("advise: %w", err)
	}
	return findings, nil
}

// kubeConfig is the client configuration kubectl would use: --kubeconfig, else KUBECONFIG,
// else ~/.kube/config, and the context named (else the current one).
func kubeConfig(kubeconfig, kubeContext string) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
}

// kubeClients connects as kubectl does (kubeConfig).
func kubeClients(kubeconfig, kubeContext string) (kubernetes.Interface, dynamic.Interface, error) {
	return clientsOf(kubeConfig(kubeconfig, kubeContext))
}

func clientsOf(config clientcmd.ClientConfig) (kubernetes.Interface, dynamic.Interface, error) {
	cfg, err := config.ClientConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig: %w (pass --kubeconfig FILE or set KUBECONFIG)", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("dynamic client: %w", err)
	}
	return kube, dyn, nil
}

// namespaceOf is the context's namespace, "default" when it names none (or cannot be read:
// connecting reports that).
func namespaceOf(config clientcmd.ClientConfig) string {
	ns, _, err := config.Namespace()
	if err != nil || ns == "" {
		return metav1.NamespaceDefault
	}
	return ns
}

// manifestFiles expands each directory among paths into its .yaml, .yml and .json files,
// in name order and not into subdirectories, as kubectl apply -f DIR does; "-" (stdin) and
// files stand as given.
func manifestFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if p == "-" || err != nil || !info.IsDir() {
			out = append(out, p) // reading it reports what is wrong
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		n := len(out)
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: a directory without .yaml, .yml or .json files", p)
		}
	}
	return out, nil
}

// readFileOrStdin reads a file, or stdin for "-".
func readFileOrStdin(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}
