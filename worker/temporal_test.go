package worker

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"

	"github.com/nodewright/nodewright/workflows"
)

// fakeOperator answers the two operator calls the worker makes from a map of attributes.
type fakeOperator struct {
	operatorservice.OperatorServiceClient
	have    map[string]enums.IndexedValueType
	listErr error
	addErr  error
	added   map[string]enums.IndexedValueType
	// racedBy, when set, is what another replica registers while this one's add is refused.
	racedBy map[string]enums.IndexedValueType
}

func (f *fakeOperator) ListSearchAttributes(context.Context, *operatorservice.ListSearchAttributesRequest, ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: maps.Clone(f.have)}, nil
}

func (f *fakeOperator) AddSearchAttributes(_ context.Context, req *operatorservice.AddSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error) {
	if f.racedBy != nil {
		maps.Copy(f.have, f.racedBy)
	}
	if f.addErr != nil {
		return nil, f.addErr
	}
	f.added = req.GetSearchAttributes()
	return &operatorservice.AddSearchAttributesResponse{}, nil
}

func TestEnsureSearchAttributes(t *testing.T) {
	all := workflows.SearchAttributeTypes()
	allBut := func(names ...string) map[string]enums.IndexedValueType {
		m := maps.Clone(all)
		for _, n := range names {
			delete(m, n)
		}
		return m
	}
	tests := []struct {
		name      string
		op        *fakeOperator
		create    bool
		wantErr   []string // fragments; none means success
		wantAdded []string
	}{
		{name: "all present: nothing to do", op: &fakeOperator{have: all}},
		{
			name: "missing ones are named with the commands that register them", op: &fakeOperator{have: allBut("Zone", "NodePool")},
			wantErr: []string{"lacks the search attributes NodePool, Zone", "temporal operator search-attribute create --address frontend:7233 --namespace nodes",
				"--name Zone --type Keyword", "tcld namespace search-attributes add --namespace nodes", "--search-attribute Zone=Keyword", "--create-search-attributes"},
		},
		{name: "missing ones are created when asked", op: &fakeOperator{have: allBut("Zone", "NodePool")}, create: true, wantAdded: []string{"NodePool", "Zone"}},
		{
			name: "a refused creation names the attributes, the refusal and the commands", op: &fakeOperator{have: allBut("Zone"), addErr: serviceerror.NewPermissionDenied("not allowed", "")},
			create: true, wantErr: []string{"Zone", "creating them failed: not allowed", "tcld namespace search-attributes add"},
		},
		{
			name: "an attribute of another type is reported, never replaced", op: &fakeOperator{have: func() map[string]enums.IndexedValueType {
				m := maps.Clone(all)
				m["Zone"] = enums.INDEXED_VALUE_TYPE_TEXT
				return m
			}()},
			create: true, wantErr: []string{"Zone is Text", "search-attribute remove"},
		},
		{
			// Two replicas starting together both find the attributes missing; the server
			// gives the slower one's add an error, yet the namespace has what it needs.
			name: "losing the race to register them to another replica is no failure",
			op: &fakeOperator{have: allBut("Zone", "NodePool"), racedBy: all,
				addErr: serviceerror.NewUnavailable("Generated search attributes mapping unavailable.")},
			create: true,
		},
		{name: "a server that keeps the operator API from workers is let be", op: &fakeOperator{listErr: serviceerror.NewPermissionDenied("operator API denied", "")}},
		{name: "an unreachable server is an error", op: &fakeOperator{listErr: errors.New("connection refused")}, wantErr: []string{"list the search attributes of namespace nodes", "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ensureSearchAttributes(context.Background(), tt.op, temporalAt("frontend:7233", "nodes"), tt.create, slog.New(slog.DiscardHandler))
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(tt.wantErr) > 0 && err == nil {
				t.Fatal("no error")
			}
			for _, frag := range tt.wantErr {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error lacks %q:\n%v", frag, err)
				}
			}
			if got := slices.Sorted(maps.Keys(tt.op.added)); !slices.Equal(got, tt.wantAdded) {
				t.Errorf("added %v, want %v", got, tt.wantAdded)
			}
		})
	}
}

// A worker started while Temporal is down keeps trying until it is stopped, rather than
// exiting into a crash loop.
func TestDialTemporalWaitsForAnUnreachableFrontend(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var logs strings.Builder
	_, err = dialTemporal(ctx, temporalAt(addr, "nodes"), nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err == nil || ctx.Err() == nil {
		t.Fatalf("dialTemporal returned %v before it was stopped", err)
	}
	if n := strings.Count(logs.String(), "Temporal unreachable; trying again"); n < 2 {
		t.Errorf("%d retries logged in 3s, want at least 2:\n%s", n, logs.String())
	}
}
