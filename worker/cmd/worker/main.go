// Command worker runs the Nodewright Temporal worker.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/contrib/envconfig"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/nodewright/nodewright/worker"
)

func main() {
	cfg, err := worker.ParseFlags(os.Args[1:], envconfig.EnvLookupOS)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	// The SDK sizes its one sticky cache for the process when the first worker starts.
	sdkworker.SetStickyWorkflowCacheSize(cfg.StickyWorkflowCacheSize())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := worker.Run(ctx, cfg, worker.NewLogger(os.Stderr, cfg)); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}
