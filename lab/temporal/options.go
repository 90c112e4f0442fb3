package temporal

import (
	"log/slog"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/nodewright/nodewright/workflows"
)

const (
	// DefaultPort is the conventional Temporal frontend gRPC port; pass it explicitly, since Port 0 means "any free port".
	DefaultPort = 7233
	// uiPortOffset places the UI next to the frontend the way the Temporal CLI does (7233 → 8233).
	uiPortOffset = 1000
	// NoUI disables the Web UI when used as Options.UIPort.
	NoUI = -1
	// DefaultRetention keeps closed node workflows visible in the UI for three days (the server default is one).
	DefaultRetention = 72 * time.Hour
)

// Options configures Start. The zero value is usable: in-memory SQLite, free ports, namespace "default".
type Options struct {
	// IP the services bind to; default 127.0.0.1.
	IP string
	// Port of the frontend gRPC service; 0 picks a free port (use DefaultPort for 7233).
	Port int
	// UIPort of the Web UI; 0 means Port+1000 (or a free port when Port is 0), NoUI (-1) disables it.
	UIPort int
	// DBFile is the SQLite file; "" keeps everything in memory. A missing file is created with the schema.
	DBFile string
	// Namespace to create and serve; default "default".
	Namespace string
	// SearchAttributes are registered on the namespace (missing ones are added when reusing a DBFile).
	SearchAttributes map[string]enums.IndexedValueType
	// Retention of closed workflows; default DefaultRetention.
	Retention time.Duration
	// Logger receives server logs at Warn and above; nil discards them.
	Logger *slog.Logger
	// DynamicConfig holds extra dynamic config values by key name (e.g. "limit.historyCount.suggestContinueAsNew");
	// they override the defaults of this package. Integers must be Go ints.
	DynamicConfig map[string]any
	// TLS serves the frontend over TLS (mutual TLS if TLS.RequireClientCert) with certificates from
	// NewTLS; nil serves plaintext.
	TLS *TLS
}

// DefaultSearchAttributes are the search attributes Nodewright's workflows set.
func DefaultSearchAttributes() map[string]enums.IndexedValueType {
	return workflows.SearchAttributeTypes()
}

// withDefaults fills the fields whose zero value means "default". Ports are resolved later, by allocatePorts.
func (o Options) withDefaults() Options {
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
