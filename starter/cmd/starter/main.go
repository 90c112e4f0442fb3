// Command starter is Nodewright's operator CLI.
package main

import (
	"context"
	"os"
	"os/signal"

	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/nodewright/nodewright/starter"
)

// version is what --version prints; `make build` sets it with -ldflags -X main.version=...
// (a linker flag can only set a package-level string).
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := starter.Main(ctx, version, os.Args[1:], os.Stdout, os.Stderr, envconfig.EnvLookupOS)
	stop()
	os.Exit(code)
}
