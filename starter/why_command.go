package starter

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
)

// whyOptions are why's target and flags.
type whyOptions struct {
	// podNamespace and podName are set when the target is a pod; node (command.node) otherwise.
	podNamespace, podName string
	kubeconfig            string
	kubeContext           string
}

// podPrefix marks why's argument as a pod: no NODE form starts with it.
const podPrefix = "pod/"

func whyFlags(fs *pflag.FlagSet, c *command) {
	fs.StringVar(&c.why.kubeconfig, "kubeconfig", "", "kubeconfig for a pod (default: KUBECONFIG, then ~/.kube/config)")
	fs.StringVar(&c.why.kubeContext, "context", "", "kubeconfig context for a pod")
}

// whyArgs reads why's one argument: pod/NAMESPACE/NAME or pod/NAME (the kubeconfig context's
// namespace, as kubectl takes it) for a pod, anything else a NODE.
func whyArgs(c *command, args []string) error {
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("takes exactly one NODE or pod/[NAMESPACE/]NAME, got %q", args)
	}
	rest, isPod := strings.CutPrefix(args[0], podPrefix)
	if !isPod {
		c.node = args[0]
		return nil
	}
	parts := strings.Split(rest, "/")
	switch len(parts) {
	case 1:
		c.why.podName = parts[0] // the namespace is the context's, read once connected
	case 2:
		c.why.podNamespace, c.why.podName = parts[0], parts[1]
	default:
		return fmt.Errorf("pod %q: want pod/NAMESPACE/NAME or pod/NAME", args[0])
	}
	for what, v := range map[string]string{"namespace": c.why.podNamespace, "name": c.why.podName} {
		if errs := validation.IsDNS1123Subdomain(v); len(errs) != 0 && (what == "name" || len(parts) == 2) {
			return fmt.Errorf("pod %q: %s %q is not valid: %s (want pod/NAMESPACE/NAME)", args[0], what, v, strings.Join(errs, "; "))
		}
	}
	return nil
}

func runWhy(ctx context.Context, op *Operator, c command, out io.Writer) error {
	if c.why.podName == "" {
		why, err := op.WhyNode(ctx, c.node)
		if err != nil {
			return err
		}
		return printNodeWhy(out, c.output, why)
	}
	kube, namespace, err := c.kube(c.why.kubeconfig, c.why.kubeContext)
	if err != nil {
		return fmt.Errorf("why %s%s: %w", podPrefix, strings.TrimPrefix(c.why.podNamespace+"/"+c.why.podName, "/"), err)
	}
	if c.why.podNamespace == "" {
		c.why.podNamespace = namespace
	}
	why, err := op.WhyPod(ctx, kube, c.why.podNamespace, c.why.podName)
	if err != nil {
		return err
	}
	return printPodWhy(out, c.output, why)
}
