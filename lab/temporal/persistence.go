package temporal

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"go.temporal.io/server/common/config"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"google.golang.org/protobuf/types/known/durationpb"
)

// fileMaxConns lets readers run beside the single SQLite writer; server 1.32 honours it only with WAL.
const fileMaxConns = 4

// sqliteConfig describes the database: a uniquely named shared in-memory database (the sqlite plugin creates its
// schema on first connect), or a WAL-mode file.
func sqliteConfig(dbFile string) *config.SQL {
	if dbFile == "" {
		return &config.SQL{
			PluginName:        sqliteplugin.PluginName,
			DatabaseName:      "nodewright-" + strconv.FormatUint(rand.Uint64(), 36),
			ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		}
	}
	return &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      dbFile,
		ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal"},
		MaxConns:          fileMaxConns,
		MaxIdleConns:      fileMaxConns,
	}
}

// visibilityConfig describes where visibility records (the search attributes that list
// workflows) go: for an in-memory database, a second in-memory database, so that their
// writes, a few per workflow and the costliest the store makes, queue on a connection of
// their own instead of in front of the history's; nil keeps them with the history, in the
// file. A production Temporal keeps visibility apart too (its own database, or
// Elasticsearch).
func visibilityConfig(sqlCfg *config.SQL) *config.SQL {
	if sqlCfg.ConnectAttributes["mode"] != "memory" {
		return nil
	}
	vis := *sqlCfg
	vis.DatabaseName += "-visibility"
	vis.ConnectAttributes = maps.Clone(sqlCfg.ConnectAttributes)
	return &vis
}

// prepareDatabase creates the schema of a new database file and inserts the namespace if it is missing. An
// existing namespace is left untouched here; ensureNamespace reconciles it once the server runs.
func prepareDatabase(sqlCfg *config.SQL, dbFile, clusterName string, o Options) error {
	if dbFile != "" {
		if err := createSchemaIfAbsent(sqlCfg, dbFile); err != nil {
			return err
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", o.Namespace, err)
	}
	ns.Detail.Config.Retention = durationpb.New(o.Retention)
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return fmt.Errorf("create namespace %s: %w", o.Namespace, err)
	}
	return nil
}

func createSchemaIfAbsent(sqlCfg *config.SQL, dbFile string) error {
	_, err := os.Stat(dbFile)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database file %s: %w", dbFile, err)
	}
	// Checked first because SQLite's own error for a missing directory does not name the path.
	if _, err := os.Stat(filepath.Dir(dbFile)); err != nil {
		return fmt.Errorf("directory of database file %s: %w", dbFile, err)
	}
	if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
		return fmt.Errorf("create schema in %s: %w", dbFile, err)
	}
	return nil
}
