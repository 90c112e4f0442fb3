package temporal

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"
)

// retryInterval paces readiness probes; the server is usually ready on the first or second try.
const retryInterval = 100 * time.Millisecond

// dialReady connects an SDK client and waits until the frontend passes its health check and serves the
// namespace, retrying until ctx ends.
func dialReady(ctx context.Context, address, namespace string, tlsConfig *tls.Config, logger *slog.Logger) (client.Client, error) {
	var lastErr error
	for {
		c, err := client.DialContext(ctx, client.Options{
			HostPort:          address,
			Namespace:         namespace,
			Logger:            sdklog.NewStructuredLogger(logger),
			ConnectionOptions: client.ConnectionOptions{TLS: tlsConfig},
		})
		if err == nil {
			if err = probe(ctx, c, namespace); err == nil {
				return c, nil
			}
			c.Close()
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("frontend %s not ready for namespace %s: %w (last error: %v)",
				address, namespace, context.Cause(ctx), lastErr)
		case <-time.After(retryInterval):
		}
	}
}

func probe(ctx context.Context, c client.Client, namespace string) error {
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("describe namespace %s: %w", namespace, err)
	}
	return nil
}

// ensureNamespace brings a namespace that already existed in a database file up to the options: its retention,
// and any search attribute added since the file was created.
func ensureNamespace(ctx context.Context, c client.Client, o Options) error {
	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: o.Namespace})
	if err != nil {
		return fmt.Errorf("describe namespace %s: %w", o.Namespace, err)
	}
	if desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != o.Retention {
		_, err := c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
			Namespace: o.Namespace,
			Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(o.Retention)},
		})
		if err != nil {
			return fmt.Errorf("set retention of namespace %s to %s: %w", o.Namespace, o.Retention, err)
		}
	}
	return ensureSearchAttributes(ctx, c, o.Namespace, o.SearchAttributes)
}

func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string, want map[string]enums.IndexedValueType) error {
	if len(want) == 0 {
		return nil
	}
	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	have := list.GetCustomAttributes()
	missing := map[string]enums.IndexedValueType{}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		got, ok := have[name]
		switch {
		case !ok:
			missing[name] = want[name]
		case got != want[name]:
			return fmt.Errorf("search attribute %s of namespace %s is %s, want %s", name, namespace, got, want[name])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes %v to namespace %s: %w", slices.Sorted(maps.Keys(missing)), namespace, err)
	}
	return nil
}
