package kube

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
)

// Options configure the lab cluster.
type Options struct {
	// Dir receives kubeconfig (admin), worker.kubeconfig and the control plane's files.
	Dir string
	// Port is the kube-apiserver port on 127.0.0.1; 0 picks a free one.
	Port int
	// Log receives the control plane's logs; nil discards them. Kubernetes logs through the
	// process-wide klog, so this applies to the whole process.
	Log io.Writer
	// AuditLog, when set, is a file the API server writes an audit event to for every request
	// the worker's service account makes, at receipt (JSON lines).
	AuditLog string
}

// Cluster is a running lab control plane.
type Cluster struct {
	URL string
	// AdminKubeconfig and WorkerKubeconfig are file paths; Admin is the same identity as a
	// rest.Config for in-process use.
	AdminKubeconfig  string
	WorkerKubeconfig string
	Admin            *rest.Config
	Client           kubernetes.Interface

	cancel context.CancelFunc
	dir    string
	pki    *pki
	token  string // the worker's service-account token
	etcd   *embed.Etcd
	api    *apiServer
	sched  <-chan error
}

// Start brings up etcd, kube-apiserver, kube-scheduler and the workload controllers, installs
// Nodewright's CRDs, and returns once the API is ready and the worker's credentials exist.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	quietKlog(o.Log)
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Dir, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Cluster{cancel: cancel, dir: o.Dir}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()

	pki, err := newPKI()
	if err != nil {
		return nil, err
	}
	c.pki = pki
	stateDir := filepath.Join(o.Dir, "control-plane")
	if err := os.RemoveAll(stateDir); err != nil {
		return nil, fmt.Errorf("clear %s: %w", stateDir, err)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", stateDir, err)
	}
	files, err := pki.writeFiles(stateDir)
	if err != nil {
		return nil, err
	}

	var etcdURL string
	c.etcd, etcdURL, err = startEtcd(filepath.Join(stateDir, "etcd"))
	if err != nil {
		return nil, err
	}
	var extra []string
	if o.AuditLog != "" {
		if extra, err = auditArgs(stateDir, o.AuditLog); err != nil {
			return nil, err
		}
	}
	c.api, err = startAPIServer(ctx, o.Port, etcdURL, files, extra...)
	if err != nil {
		return nil, err
	}
	c.URL = c.api.URL

	admin, err := kubeconfigFor(c.URL, pki.CA.CertPEM, "admin", &clientcmdapi.AuthInfo{
		ClientCertificateData: pki.Admin.CertPEM, ClientKeyData: pki.Admin.KeyPEM})
	if err != nil {
		return nil, fmt.Errorf("admin kubeconfig: %w", err)
	}
	c.AdminKubeconfig = filepath.Join(o.Dir, "kubeconfig")
	if err := os.WriteFile(c.AdminKubeconfig, admin, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", c.AdminKubeconfig, err)
	}
	c.Admin = &rest.Config{
		Host:            c.URL,
		TLSClientConfig: rest.TLSClientConfig{CAData: pki.CA.CertPEM, CertData: pki.Admin.CertPEM, KeyData: pki.Admin.KeyPEM},
		QPS:             200,
		Burst:           400,
	}
	if c.Client, err = kubernetes.NewForConfig(c.Admin); err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}

	schedKubeconfig, err := kubeconfigFor(c.URL, pki.CA.CertPEM, "system:kube-scheduler", &clientcmdapi.AuthInfo{
		ClientCertificateData: pki.Scheduler.CertPEM, ClientKeyData: pki.Scheduler.KeyPEM})
	if err != nil {
		return nil, fmt.Errorf("scheduler kubeconfig: %w", err)
	}
	schedPath := filepath.Join(stateDir, "scheduler.kubeconfig")
	if err := os.WriteFile(schedPath, schedKubeconfig, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", schedPath, err)
	}
	if c.sched, err = startScheduler(ctx, stateDir, schedPath); err != nil {
		return nil, err
	}
	if err := InstallCRDs(ctx, c.Admin); err != nil {
		return nil, err
	}
	if err := startControllers(ctx, c.Client, c.Admin); err != nil {
		return nil, err
	}

	if c.token, err = workerToken(ctx, c.Client); err != nil {
		return nil, err
	}
	if c.WorkerKubeconfig, err = c.writeWorkerKubeconfig("worker.kubeconfig", c.URL); err != nil {
		return nil, err
	}
	return c, nil
}

// writeWorkerKubeconfig writes the worker's identity, aimed at server, into the lab directory.
func (c *Cluster) writeWorkerKubeconfig(name, server string) (string, error) {
	worker, err := kubeconfigFor(server, c.pki.CA.CertPEM, WorkerServiceAccount, &clientcmdapi.AuthInfo{Token: c.token})
	if err != nil {
		return "", fmt.Errorf("worker kubeconfig %s: %w", name, err)
	}
	path := filepath.Join(c.dir, name)
	if err := os.WriteFile(path, worker, 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// Stop shuts the control plane down and waits for the API server to finish.
func (c *Cluster) Stop() {
	c.cancel()
	if c.api != nil {
		select {
		case <-c.api.done:
		case <-time.After(30 * time.Second):
		}
	}
	if c.etcd != nil {
		c.etcd.Close()
	}
}

// quietKlog sends Kubernetes' process-wide logs to w (or nowhere): the control plane is chatty
// and the lab's own output is what a person reads.
func quietKlog(w io.Writer) {
	if w == nil {
		w = io.Discard
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	// Errors would otherwise still be copied to stderr.
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.LogToStderr(false)
	klog.SetOutput(w)
}
