package temporal

import (
	"fmt"
	"time"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"
)

const (
	clusterName         = "active"
	storeName           = "sqlite-default"
	visibilityStoreName = "sqlite-visibility"
)

// serverConfig mirrors the Temporal CLI dev server: one history shard, every service in this process on its
// own port, archival off, no replication. Visibility has a store of its own when visCfg is not nil.
func serverConfig(ip string, p ports, sqlCfg, visCfg *config.SQL, t *TLS) *config.Config {
	host := dialHost(ip)
	service := func(port int) config.Service {
		var s config.Service
		s.RPC.GRPCPort = port
		s.RPC.BindOnIP = ip
		return s
	}
	frontend := service(p.frontend)
	frontend.RPC.HTTPPort = p.frontendHTTP

	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
	conf.Persistence.DefaultStore = storeName
	conf.Persistence.VisibilityStore = storeName
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{storeName: {SQL: sqlCfg}}
	if visCfg != nil {
		conf.Persistence.VisibilityStore = visibilityStoreName
		conf.Persistence.DataStores[visibilityStoreName] = config.DataStore{SQL: visCfg}
	}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             hostPort(host, p.frontend),
			HTTPAddress:            hostPort(host, p.frontendHTTP),
			ClusterID:              primitives.NewUUID().String(),
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{
		string(primitives.FrontendService): frontend,
		string(primitives.HistoryService):  service(p.history),
		string(primitives.MatchingService): service(p.matching),
		string(primitives.WorkerService):   service(p.worker),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = hostPort(host, p.frontend)
	if t != nil {
		conf.Global.TLS = t.serverTLS()
	}
	return &conf
}

// dynamicConfig holds the defaults the lab relies on; extra values (by key name) win over them.
func dynamicConfig(extra map[string]any) dynamicconfig.StaticClient {
	dc := dynamicconfig.StaticClient{
		// Visibility queries must see search attributes registered moments ago.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		// Operators drain nodes through workflow updates, including from the UI.
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
		// The defaults throttle a busy single-process server ("Persistence Max QPS Reached", temporalio/cli#255).
		dynamicconfig.FrontendPersistenceMaxQPS.Key(): 10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():  45000,
		// Values the CLI dev server sets: a larger mutable-state cache and room for the UI's visibility polling.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	for name, value := range extra {
		dc[dynamicconfig.MakeKey(name)] = value
	}
	return dc
}

// serverOptions assembles everything temporal.NewServer needs.
func serverOptions(conf *config.Config, logger serverLogger, dc dynamicconfig.StaticClient) ([]temporal.ServerOption, error) {
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("claim mapper: %w", err)
	}
	host := dialHost(conf.Services[string(primitives.FrontendService)].RPC.BindOnIP)
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, name := range []primitives.ServiceName{
		primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService,
	} {
		hosts[name] = static.SingleLocalHost(hostPort(host, conf.Services[string(name)].RPC.GRPCPort))
	}
	return []temporal.ServerOption{
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dc),
	}, nil
}
