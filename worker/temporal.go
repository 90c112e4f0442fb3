package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// dialTemporal connects to the frontend the settings name. A frontend that cannot be reached
// yet is tried again, backing off up to a minute, until ctx ends: a worker started during a
// Temporal outage then joins when it is back instead of exiting into a crash loop (its probes
// say it is starting meanwhile). A refusal (bad credentials, bad certificate) ends it at once.
func dialTemporal(ctx context.Context, conn envconfig.ClientConfigProfile, sdkMetrics client.MetricsHandler, log *slog.Logger) (client.Client, error) {
	opts, err := temporalconn.ClientOptions(conn)
	if err != nil {
		return nil, err
	}
	opts.MetricsHandler = sdkMetrics
	// Node workflows start eagerly through this client, each with its own RequestID.
	opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions,
		grpc.WithChainUnaryInterceptor(activities.RequestIDInterceptor()))
	opts.Logger = sdklog.NewStructuredLogger(log.With("component", "temporal"))
	wait := time.Second
	for attempt := 1; ; attempt++ {
		tc, err := client.DialContext(ctx, opts)
		if err == nil {
			return tc, nil
		}
		err = fmt.Errorf("connect to Temporal at %s: %w", temporalconn.Describe(conn), err)
		if !unreachable(err) || ctx.Err() != nil {
			return nil, err
		}
		log.Warn("Temporal unreachable; trying again", "attempt", attempt, "in", wait, "error", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// unreachable is true for an error that says the frontend did not answer (yet), not that it
// refused the worker.
func unreachable(err error) bool {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	return errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded)
}

// ensureSearchAttributes checks that the namespace has every search attribute the workflows
// set, with its type: without them every node workflow task fails. Missing ones are created
// when create is set (a self-hosted server allows it); otherwise the error names them and
// gives the commands that register them.
func ensureSearchAttributes(ctx context.Context, ops operatorservice.OperatorServiceClient, conn envconfig.ClientConfigProfile, create bool, log *slog.Logger) error {
	want := workflows.SearchAttributeTypes()
	list, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: conn.Namespace})
	if err != nil {
		var denied *serviceerror.PermissionDenied
		var unimplemented *serviceerror.Unimplemented
		if errors.As(err, &denied) || errors.As(err, &unimplemented) {
			// Some servers keep the operator API from workers; the workflows then find out.
			log.Warn("cannot list the namespace's search attributes; make sure they exist", "error", err,
				"self_hosted", createCommand(conn, want), "temporal_cloud", cloudCommand(conn, want))
			return nil
		}
		return fmt.Errorf("list the search attributes of namespace %s: %w", conn.Namespace, err)
	}
	missing, wrong := compareSearchAttributes(want, list.GetCustomAttributes())
	if len(wrong) > 0 {
		return fmt.Errorf("namespace %s has search attributes of the wrong type: %s; Nodewright's workflows set them as %s. Remove them (temporal operator search-attribute remove --namespace %s --name NAME) and start the worker again",
			conn.Namespace, strings.Join(wrong, ", "), describeTypes(want, slices.Sorted(maps.Keys(want))), conn.Namespace)
	}
	if len(missing) == 0 {
		return nil
	}
	if !create {
		return missingSearchAttributesError(conn, want, missing, nil)
	}
	add := map[string]enums.IndexedValueType{}
	for _, name := range missing {
		add[name] = want[name]
	}
	if _, err := ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: conn.Namespace, SearchAttributes: add}); err != nil {
		if registeredMeanwhile(ctx, ops, conn.Namespace, want) {
			log.Info("another worker registered the search attributes first", "namespace", conn.Namespace, "names", missing, "refusal", err)
			return nil
		}
		return missingSearchAttributesError(conn, want, missing, err)
	}
	log.Info("registered the search attributes the workflows set", "namespace", conn.Namespace, "names", missing)
	return nil
}

// registeredMeanwhile is true when the namespace now has every wanted attribute with its
// type: replicas starting together all find them missing, and the server refuses the adds
// that lose the race to the first one.
func registeredMeanwhile(ctx context.Context, ops operatorservice.OperatorServiceClient, namespace string, want map[string]enums.IndexedValueType) bool {
	list, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return false
	}
	missing, wrong := compareSearchAttributes(want, list.GetCustomAttributes())
	return len(missing) == 0 && len(wrong) == 0
}

// compareSearchAttributes lists, sorted, the wanted attributes the namespace lacks and those
// it has with another type ("Zone is Text").
func compareSearchAttributes(want, have map[string]enums.IndexedValueType) (missing, wrong []string) {
	for _, name := range slices.Sorted(maps.Keys(want)) {
		got, ok := have[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case got != want[name]:
			wrong = append(wrong, fmt.Sprintf("%s is %s", name, typeName(got)))
		}
	}
	return missing, wrong
}

// missingSearchAttributesError names the missing attributes and how to register them;
// createErr is why creating them failed, if the worker tried.
func missingSearchAttributesError(conn envconfig.ClientConfigProfile, want map[string]enums.IndexedValueType, missing []string, createErr error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "namespace %s lacks the search attributes %s (%s)", conn.Namespace, strings.Join(missing, ", "), describeTypes(want, missing))
	if createErr != nil {
		fmt.Fprintf(&b, ", and creating them failed: %v", createErr)
	}
	fmt.Fprintf(&b, ".\nRegister them, then start the worker again:\n  self-hosted Temporal: %s\n  Temporal Cloud:       %s", createCommand(conn, want), cloudCommand(conn, want))
	if createErr == nil {
		b.WriteString("\nor, on a self-hosted Temporal, start the worker with --create-search-attributes (CREATE_SEARCH_ATTRIBUTES=true)")
	}
	return errors.New(b.String())
}

// createCommand is the temporal CLI command registering every attribute on a self-hosted
// server; it lists all of them, as the CLI skips none that exist.
func createCommand(conn envconfig.ClientConfigProfile, want map[string]enums.IndexedValueType) string {
	args := []string{"temporal operator search-attribute create", "--address", conn.Address, "--namespace", conn.Namespace}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		args = append(args, "--name", name, "--type", typeName(want[name]))
	}
	return strings.Join(args, " ")
}

// cloudCommand is the tcld command registering every attribute on a Temporal Cloud namespace.
func cloudCommand(conn envconfig.ClientConfigProfile, want map[string]enums.IndexedValueType) string {
	args := []string{"tcld namespace search-attributes add", "--namespace", conn.Namespace}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		args = append(args, "--search-attribute", name+"="+typeName(want[name]))
	}
	return strings.Join(args, " ")
}

func describeTypes(want map[string]enums.IndexedValueType, names []string) string {
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = name + " " + typeName(want[name])
	}
	return strings.Join(parts, ", ")
}

// typeName is the type as the CLIs spell it: Keyword, Text, Int, ...
func typeName(t enums.IndexedValueType) string {
	return t.String()
}

// temporalReachable checks the frontend every temporalCheckEvery until ctx ends, recording
// the outcome, so /healthz fails soon after Temporal has gone for good.
func temporalReachable(ctx context.Context, tc client.Client, o *outage) {
	tick := time.NewTicker(temporalCheckEvery)
	defer tick.Stop()
	for {
		checkCtx, cancel := context.WithTimeout(ctx, temporalCheckEvery)
		_, err := tc.CheckHealth(checkCtx, &client.CheckHealthRequest{})
		cancel()
		if ctx.Err() != nil {
			return
		}
		o.record(err)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

const (
	// temporalCheckEvery is how often the frontend is checked, and how long a check may take.
	temporalCheckEvery = time.Second
	// temporalUnreachableAfter is how long the frontend may fail checks before /healthz
	// fails: long enough for a frontend's rolling restart, short enough that a worker cut
	// off for good is restarted within a probe period or two.
	temporalUnreachableAfter = 4 * time.Second
)
