package temporal

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// newUI builds the Web UI with its embedded assets; with TLS it reaches the frontend over TLS
// while browsers still reach it over plain http. Write actions (signal, update, cancel, terminate, reset)
// stay enabled: operators drain nodes from the UI.
func newUI(ip string, port int, frontendAddress, namespace string, t *TLS) *uiserver.Server {
	cfg := &uiconfig.Config{
		Host:                bracketIPv6(ip), // the UI joins host and port with a plain colon
		Port:                port,
		TemporalGRPCAddress: frontendAddress,
		EnableUI:            true,
		DefaultNamespace:    namespace,
		DisableNewsFetch:    true, // no internet in the lab
		HideLogs:            true,
		CORS:                uiconfig.CORS{CookieInsecure: true}, // served over plain http
	}
	if t != nil {
		cfg.TLS = t.uiTLS()
	}
	return uiserver.NewServer(uiserveroptions.WithConfigProvider(cfg))
}

// runUI serves the UI in the background (its Start blocks) and returns once it accepts connections.
func runUI(ctx context.Context, ui *uiserver.Server, address string) error {
	go func() { _ = ui.Start() }()
	return waitForListener(ctx, address)
}

func waitForListener(ctx context.Context, address string) error {
	var dialer net.Dialer
	for {
		conn, err := dialer.DialContext(ctx, "tcp", address)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to listen: %w", address, context.Cause(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func bracketIPv6(ip string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]"
	}
	return ip
}
