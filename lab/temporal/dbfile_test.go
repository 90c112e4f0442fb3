package temporal

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
)

func TestDatabaseFileKeepsClosedWorkflows(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	logger := testLogger(t)

	ok := t.Run("a server on a new file runs a workflow to completion", func(t *testing.T) {
		s := startTestServer(t, Options{DBFile: dbFile, UIPort: NoUI, Logger: logger,
			SearchAttributes: DefaultSearchAttributes()})
		runMarkReady(t, dialTestClient(t, s, logger), "node/persisted")
	})
	if !ok {
		t.FailNow()
	}

	t.Run("a restart on the same file still describes the closed workflow", func(t *testing.T) {
		s := startTestServer(t, Options{DBFile: dbFile, UIPort: NoUI, Logger: logger})
		assertCompleted(t, s, "node/persisted")
	})

	t.Run("a restart with a new search attribute registers it", func(t *testing.T) {
		want := DefaultSearchAttributes()
		want["NodeClass"] = enums.INDEXED_VALUE_TYPE_KEYWORD
		s := startTestServer(t, Options{DBFile: dbFile, UIPort: NoUI, Logger: logger, SearchAttributes: want})
		c := dialTestClient(t, s, logger)
		list, err := c.OperatorService().ListSearchAttributes(t.Context(),
			&operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace()})
		if err != nil {
			t.Fatalf("list search attributes: %v", err)
		}
		for name, typ := range want {
			if got, ok := list.GetCustomAttributes()[name]; !ok || got != typ {
				t.Errorf("search attribute %s is %v (registered: %v), want %v", name, got, ok, typ)
			}
		}
	})

	// The server's sqlite plugin keeps the file open for the life of the process, so the restarts above reuse
	// that connection. A copy of the file is opened afresh, as after a lab process restart.
	t.Run("a copy of the file opened afresh still describes the closed workflow", func(t *testing.T) {
		copied := filepath.Join(t.TempDir(), "copy.db")
		for _, suffix := range []string{"", "-wal"} {
			copyFileIfPresent(t, dbFile+suffix, copied+suffix)
		}
		s := startTestServer(t, Options{DBFile: copied, UIPort: NoUI, Logger: logger})
		assertCompleted(t, s, "node/persisted")
	})
}

func assertCompleted(t *testing.T, s *Server, workflowID string) {
	t.Helper()
	c := dialTestClient(t, s, testLogger(t))
	eventually(t, "describe workflow "+workflowID, func(ctx context.Context) (bool, error) {
		desc, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
		if err != nil {
			return false, err
		}
		status := desc.GetWorkflowExecutionInfo().GetStatus()
		if status != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("workflow %s is %s after the restart, want completed", workflowID, status)
		}
		return true, nil
	})
}

func copyFileIfPresent(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatalf("open %s: %v", from, err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatalf("create %s: %v", to, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatalf("copy %s to %s: %v", from, to, err)
	}
	if err := dst.Close(); err != nil {
		t.Fatalf("close %s: %v", to, err)
	}
}

// Visibility records get an in-memory database of their own beside an in-memory history
// store, and stay in the file with a database file.
func TestVisibilityConfig(t *testing.T) {
	tests := []struct {
		name   string
		dbFile string
		want   string // the visibility database's name; "" for none of its own
	}{
		{name: "in memory", want: "-visibility"},
		{name: "a database file", dbFile: "/var/lib/temporal.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sqlCfg := sqliteConfig(tt.dbFile)
			vis := visibilityConfig(sqlCfg)
			switch {
			case tt.want == "" && vis != nil:
				t.Errorf("visibility in %s, want it with the history in %s", vis.DatabaseName, sqlCfg.DatabaseName)
			case tt.want != "" && (vis == nil || vis.DatabaseName != sqlCfg.DatabaseName+tt.want || vis.ConnectAttributes["mode"] != "memory"):
				t.Errorf("visibility config %+v, want the in-memory database %s%s", vis, sqlCfg.DatabaseName, tt.want)
			}
		})
	}
}
