package kubelet

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	cliflag "k8s.io/component-base/cli/flag"
	utilflag "k8s.io/kubernetes/pkg/util/flag"
)

// kubeletFlags are the kubelet command-line flags that shape the Node; the stand-in ignores the
// rest, as they change nothing it models.
type kubeletFlags struct {
	Labels     map[string]string
	Taints     []corev1.Taint
	TaintsSet  bool // --register-with-taints was given, so it replaces the config file's
	MaxPods    int32
	MaxPodsSet bool
}

// parseKubeletFlags parses nodeadm's spec.kubelet.flags as the kubelet parses its command line,
// with the kubelet's own flag types: repeated --node-labels merge, the last
// --register-with-taints wins.
func parseKubeletFlags(flags []string) (kubeletFlags, error) {
	out := kubeletFlags{Labels: map[string]string{}}
	fs := pflag.NewFlagSet("kubelet", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	fs.Var(cliflag.NewMapStringString(&out.Labels), "node-labels", "")
	fs.Var(utilflag.RegisterWithTaintsVar{Value: &out.Taints}, "register-with-taints", "")
	fs.Int32Var(&out.MaxPods, "max-pods", 0, "")
	if err := fs.Parse(commandLine(flags)); err != nil {
		return kubeletFlags{}, fmt.Errorf("kubelet flags: %w", err)
	}
	out.TaintsSet = fs.Changed("register-with-taints")
	out.MaxPodsSet = fs.Changed("max-pods")
	return out, nil
}

// commandLine is the kubelet's argv from nodeadm's flags: nodeadm joins them with spaces into
// NODEADM_KUBELET_ARGS and systemd splits that at whitespace after removing quotes, which is
// why --node-labels="a=b,c=d" reaches the kubelet as --node-labels=a=b,c=d.
func commandLine(flags []string) []string {
	var args []string
	var word strings.Builder
	inWord := false
	var quote rune
	for _, r := range strings.Join(flags, " ") {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '"' || r == '\''):
			quote, inWord = r, true
		case quote == 0 && (r == ' ' || r == '\t' || r == '\n'):
			if inWord {
				args = append(args, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		args = append(args, word.String())
	}
	return args
}
