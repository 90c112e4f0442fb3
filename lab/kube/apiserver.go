package kube

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
)

// apiServer is a running kube-apiserver.
type apiServer struct {
	// Loopback is the apiserver's own privileged client config, for in-process components.
	Loopback *rest.Config
	URL      string
	done     chan error
}

// startAPIServer runs kube-apiserver on 127.0.0.1:port (0 = free port) against etcdURL, with
// client-certificate and service-account authentication and Node,RBAC authorization; extra
// flags follow the lab's own.
func startAPIServer(ctx context.Context, port int, etcdURL string, files map[string]string, extra ...string) (*apiServer, error) {
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver port %d: %w (is another lab running? pick another with --kube-port)", port, err)
	}
	port = listener.Addr().(*net.TCPAddr).Port

	s := options.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + files["apiserver.crt"],
		"--tls-private-key-file=" + files["apiserver.key"],
		"--client-ca-file=" + files["ca.crt"],
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + files["sa.key"],
		"--service-account-signing-key-file=" + files["sa.key"],
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=true",
		"--profiling=false",
	}
	args = append(args, extra...)
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("kube-apiserver flags: %w", err)
	}
	s.SecureServing.Listener = listener
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, fmt.Errorf("kube-apiserver feature gates: %w", err)
	}

	completed, err := s.Complete(ctx)
	if err != nil {
		return nil, fmt.Errorf("complete kube-apiserver options: %w", err)
	}
	if errs := completed.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("validate kube-apiserver options: %w", utilerrors.NewAggregate(errs))
	}
	cfg, err := app.NewConfig(completed)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver config: %w", err)
	}
	cc, err := cfg.Complete()
	if err != nil {
		return nil, fmt.Errorf("complete kube-apiserver config: %w", err)
	}
	chain, err := app.CreateServerChain(cc)
	if err != nil {
		return nil, fmt.Errorf("create kube-apiserver: %w", err)
	}
	prepared, err := chain.PrepareRun()
	if err != nil {
		return nil, fmt.Errorf("prepare kube-apiserver: %w", err)
	}
	a := &apiServer{
		Loopback: rest.CopyConfig(chain.GenericAPIServer.LoopbackClientConfig),
		URL:      fmt.Sprintf("https://127.0.0.1:%d", port),
		done:     make(chan error, 1),
	}
	go func() { a.done <- prepared.Run(ctx) }()

	if err := a.waitHealthy(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// waitHealthy waits for /readyz, which covers the bootstrap hooks that create the default
// namespace, priority classes and RBAC roles.
func (a *apiServer) waitHealthy(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(a.Loopback)
	if err != nil {
		return fmt.Errorf("kube-apiserver client: %w", err)
	}
	var lastErr error
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-a.done:
			return false, fmt.Errorf("kube-apiserver exited: %w", err)
		default:
		}
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			lastErr = fmt.Errorf("%w: %s", err, body)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver not ready (last: %v): %w", lastErr, err)
	}
	return nil
}
