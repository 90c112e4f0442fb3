package temporal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

func TestInMemoryServer(t *testing.T) {
	logger := testLogger(t)
	s := startTestServer(t, Options{Logger: logger, SearchAttributes: DefaultSearchAttributes()})
	c := dialTestClient(t, s, logger)

	t.Run("a workflow's upserted NodePhase is found by a visibility query", func(t *testing.T) {
		runMarkReady(t, c, "node/visible")
		eventually(t, `list workflows with NodePhase = "Ready"`, func(ctx context.Context) (bool, error) {
			ids, err := listWorkflowIDs(ctx, c, s.Namespace(), `NodePhase = "Ready"`)
			return slices.Contains(ids, "node/visible"), err
		})
	})

	t.Run("a visibility query for another phase does not find it", func(t *testing.T) {
		ids, err := listWorkflowIDs(t.Context(), c, s.Namespace(), `NodePhase = "Draining"`)
		if err != nil {
			t.Fatalf("list workflows: %v", err)
		}
		if slices.Contains(ids, "node/visible") {
			t.Fatalf(`node/visible listed under NodePhase = "Draining": %v`, ids)
		}
	})

	t.Run("the namespace keeps closed workflows for the default retention", func(t *testing.T) {
		desc, err := c.WorkflowService().DescribeNamespace(t.Context(),
			&workflowservice.DescribeNamespaceRequest{Namespace: s.Namespace()})
		if err != nil {
			t.Fatalf("describe namespace: %v", err)
		}
		if got := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != DefaultRetention {
			t.Fatalf("retention of namespace %s is %s, want %s", s.Namespace(), got, DefaultRetention)
		}
	})

	t.Run("the web UI serves its start page", func(t *testing.T) {
		if s.UIAddress() == "" {
			t.Fatal("UI address is empty although the UI was enabled")
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.UIAddress()+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s/: %v", s.UIAddress(), err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s/ returned %s, want 200 OK", s.UIAddress(), resp.Status)
		}
	})

	t.Run("a second server on the same frontend port fails with a clear error", func(t *testing.T) {
		port := portOf(t, s.FrontendAddress())
		second, err := Start(t.Context(), Options{Port: port, UIPort: NoUI, Logger: testLogger(t)})
		if err == nil {
			_ = second.Stop()
			t.Fatalf("second Start on port %d succeeded, want a port-in-use error", port)
		}
		var inUse *PortInUseError
		if !errors.As(err, &inUse) || inUse.Port != port {
			t.Fatalf("second Start on port %d returned %v, want a *PortInUseError for that port", port, err)
		}
		want := fmt.Sprintf("port %d in use: is another lab running? use --temporal-port", port)
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	})
}

func TestServerWithoutUI(t *testing.T) {
	s := startTestServer(t, Options{UIPort: NoUI, Namespace: "nodes"})
	if s.UIAddress() != "" {
		t.Fatalf("UI address is %q, want empty when the UI is disabled", s.UIAddress())
	}
	if s.Namespace() != "nodes" {
		t.Fatalf("namespace is %q, want %q", s.Namespace(), "nodes")
	}
}

// listWorkflowIDs returns the IDs of the workflows matching a visibility query.
func listWorkflowIDs(ctx context.Context, c client.Client, namespace, query string) ([]string, error) {
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: query})
	if err != nil {
		return nil, fmt.Errorf("list workflows where %s: %w", query, err)
	}
	var ids []string
	for _, e := range resp.GetExecutions() {
		ids = append(ids, e.GetExecution().GetWorkflowId())
	}
	return ids, nil
}

func portOf(t *testing.T, address string) int {
	t.Helper()
	_, portText, err := net.SplitHostPort(address)
	if err != nil {
		t.Fatalf("split %s: %v", address, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatalf("port of %s: %v", address, err)
	}
	return port
}
