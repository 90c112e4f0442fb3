// Command starter is Nodewright's operator CLI.
package main

import (
	"context"
	"os"
	"os/signal"

	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/nodewright/nodewright/starter"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := starter.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, envconfig.EnvLookupOS)
	stop()
	os.Exit(code)
}
