// Command worker runs the Nodewright Temporal worker.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"
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
	log := worker.NewLogger(os.Stderr, cfg)
	// The container's memory limit becomes the Go runtime's soft limit (90 % of it, unless
	// GOMEMLIMIT or AUTOMEMLIMIT says otherwise): the heap of a scale-out is mostly garbage,
	// and without a limit the runtime lets it grow to twice what is live, past the pod's limit.
	// No limit at all (a cgroup without one) is not an error: the runtime's stays unset.
	switch limit, err := memlimit.Set(); {
	case errors.Is(err, memlimit.ErrCgroupsNotSupported), errors.Is(err, memlimit.ErrNoCgroup):
		log.Info("not in a memory cgroup; GOMEMLIMIT left as it is")
	case err != nil:
		log.Warn("GOMEMLIMIT not set from the container's memory limit; check AUTOMEMLIMIT (a ratio such as 0.9, or off) and GOMEMLIMIT", "error", err)
	case limit != math.MaxInt64:
		log.Info("GOMEMLIMIT set", "bytes", limit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := worker.Run(ctx, cfg, log); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}
