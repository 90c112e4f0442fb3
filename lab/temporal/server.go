package temporal

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	"go.temporal.io/server/temporal"
)

// readyTimeout bounds Start when ctx has no earlier deadline; a healthy server is ready in about a second.
const readyTimeout = time.Minute

// Server is a running Temporal server, and its Web UI unless disabled.
type Server struct {
	frontendAddress string
	uiAddress       string
	namespace       string
	tls             *TLS

	server temporal.Server
	ui     *uiserver.Server
	logger serverLogger

	stopOnce sync.Once
	stopErr  error
}

// Start runs the server in this process and returns once the frontend accepts connections and the namespace is
// usable. A fixed port that is already taken fails fast with a *PortInUseError.
func Start(ctx context.Context, o Options) (*Server, error) {
	o = o.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()

	p, err := allocatePorts(o.IP, o.Port, o.UIPort)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	sqlCfg := sqliteConfig(o.DBFile)
	if err := prepareDatabase(sqlCfg, o.DBFile, clusterName, o); err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	logger := newServerLogger(o.Logger)
	opts, err := serverOptions(serverConfig(o.IP, p, sqlCfg, visibilityConfig(sqlCfg), o.TLS), logger, dynamicConfig(o.DynamicConfig))
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	srv, err := temporal.NewServer(opts...)
	if err != nil {
		return nil, fmt.Errorf("start temporal: build server: %w", err)
	}
	if err := startServer(ctx, srv, logger); err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}

	s := &Server{
		frontendAddress: hostPort(dialHost(o.IP), p.frontend),
		namespace:       o.Namespace,
		tls:             o.TLS,
		server:          srv,
		logger:          logger,
	}
	if err := s.finishStart(ctx, o, p); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	return s, nil
}

// startServer starts the services without letting a stuck start outlive ctx; a start that finishes after ctx
// ended is stopped again.
func startServer(ctx context.Context, srv temporal.Server, logger serverLogger) error {
	started := make(chan error, 1)
	go func() { started <- srv.Start() }()
	select {
	case err := <-started:
		if err != nil {
			return fmt.Errorf("start services: %w", err)
		}
		return nil
	case <-ctx.Done():
		go func() {
			if <-started == nil {
				logger.quietForShutdown()
				_ = srv.Stop()
			}
		}()
		return fmt.Errorf("start services: %w", context.Cause(ctx))
	}
}

// finishStart waits for the frontend, reconciles the namespace and brings up the UI.
func (s *Server) finishStart(ctx context.Context, o Options, p ports) error {
	c, err := dialReady(ctx, s.frontendAddress, o.Namespace, s.clientTLS(), o.Logger)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := ensureNamespace(ctx, c, o); err != nil {
		return err
	}
	if p.ui == 0 {
		return nil
	}
	s.ui = newUI(o.IP, p.ui, s.frontendAddress, o.Namespace, o.TLS)
	uiHostPort := hostPort(dialHost(o.IP), p.ui)
	if err := runUI(ctx, s.ui, uiHostPort); err != nil {
		return fmt.Errorf("web UI: %w", err)
	}
	s.uiAddress = "http://" + uiHostPort
	return nil
}

// FrontendAddress is the host:port SDK clients dial, e.g. "127.0.0.1:7233".
func (s *Server) FrontendAddress() string { return s.frontendAddress }

// UIAddress is the Web UI's base URL, e.g. "http://127.0.0.1:8233", or "" when the UI is disabled.
func (s *Server) UIAddress() string { return s.uiAddress }

// Namespace is the namespace the server was started with.
func (s *Server) Namespace() string { return s.namespace }

// TLS is the frontend's TLS, or nil when it serves plaintext.
func (s *Server) TLS() *TLS { return s.tls }

// clientTLS is what an in-process SDK client sets as ConnectionOptions.TLS: nil for plaintext.
func (s *Server) clientTLS() *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.ClientConfig()
}

// ClientEnv is the Temporal SDK's environment for a worker or starter in another process:
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and, with TLS, the TEMPORAL_TLS_* variables.
func (s *Server) ClientEnv() []string {
	env := []string{"TEMPORAL_ADDRESS=" + s.frontendAddress, "TEMPORAL_NAMESPACE=" + s.namespace}
	if s.tls != nil {
		env = append(env, s.tls.Env()...)
	}
	return env
}

// Stop shuts down the UI and the server; calling it again returns the first result.
// The SQLite connection stays open until the process exits (the server's sqlite plugin never closes it), so a
// later Start on the same DBFile in this process reuses it.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.logger.quietForShutdown()
		if s.ui != nil {
			s.ui.Stop()
		}
		if err := s.server.Stop(); err != nil {
			s.stopErr = fmt.Errorf("stop temporal: %w", err)
		}
	})
	return s.stopErr
}
