// Package temporalconn reads how to reach Temporal the way Temporal's own tools do: the SDK's
// environment configuration (a profile of the TOML file named by TEMPORAL_CONFIG_FILE and
// TEMPORAL_PROFILE, then the TEMPORAL_* variables), then command-line flags over both. The
// worker and the starter share it, so one set of settings works for both and for the
// temporal CLI.
package temporalconn

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
)

// Defaults when neither the config file, the environment nor a flag names them.
const (
	DefaultAddress   = "127.0.0.1:7233"
	DefaultNamespace = "default"
)

// Flags are the connection flags; each overrides its TEMPORAL_* variable when given.
type Flags struct {
	address, namespace, configFile, profile setting[string]
	tls                                     setting[bool]
	caPath, certPath, keyPath, serverName   setting[string]
}

// Register adds the connection flags to fs (a pflag.FlagSet takes them with AddGoFlagSet).
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.Var(&f.address, "temporal-address", "Temporal frontend host:port (env TEMPORAL_ADDRESS; default "+DefaultAddress+")")
	fs.Var(&f.namespace, "namespace", "Temporal namespace (env TEMPORAL_NAMESPACE; default "+DefaultNamespace+")")
	fs.Var(&f.configFile, "temporal-config-file", "Temporal client TOML config file (env TEMPORAL_CONFIG_FILE)")
	fs.Var(&f.profile, "temporal-profile", `profile of the config file (env TEMPORAL_PROFILE; default "default")`)
	fs.Var(&f.tls, "temporal-tls", "connect over TLS (env TEMPORAL_TLS); implied by an API key (env TEMPORAL_API_KEY) or a client certificate")
	fs.Var(&f.caPath, "temporal-tls-ca-path", "CA certificate the frontend's certificate is checked against (env TEMPORAL_TLS_SERVER_CA_CERT_PATH); default the system's")
	fs.Var(&f.certPath, "temporal-tls-cert-path", "client certificate for mTLS (env TEMPORAL_TLS_CLIENT_CERT_PATH)")
	fs.Var(&f.keyPath, "temporal-tls-key-path", "client key for mTLS (env TEMPORAL_TLS_CLIENT_KEY_PATH)")
	fs.Var(&f.serverName, "temporal-tls-server-name", "server name the frontend's certificate must carry (env TEMPORAL_TLS_SERVER_NAME)")
	return f
}

// setting is a flag value that knows whether it was given, so only given flags override the
// file and the environment.
type setting[T string | bool] struct {
	value T
	given bool
}

func (s *setting[T]) Set(v string) error {
	switch p := any(&s.value).(type) {
	case *string:
		*p = v
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*p = b
	}
	s.given = true
	return nil
}

func (s *setting[T]) String() string {
	if s == nil {
		return ""
	}
	return fmt.Sprint(s.value)
}

// Type names the value for pflag's help.
func (s *setting[T]) Type() string { return fmt.Sprintf("%T", s.value) }

// IsBoolFlag lets --temporal-tls stand without a value.
func (s *setting[T]) IsBoolFlag() bool {
	_, ok := any(s.value).(bool)
	return ok
}

// Env is where the TEMPORAL_* variables are read from: the process's environment
// (envconfig.EnvLookupOS) or, in tests, a map (envconfig.EnvLookupMap).
type Env = envconfig.EnvLookup

// MapEnv is an Env holding the given variables only.
type MapEnv map[string]string

// Environ lists the variables as KEY=value.
func (m MapEnv) Environ() []string {
	env := make([]string, 0, len(m))
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	return env
}

// LookupEnv returns the variable's value and whether it is set.
func (m MapEnv) LookupEnv(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// Getenv adapts an Env to os.Getenv's shape, for settings of one's own.
func Getenv(env Env) func(string) string {
	return func(key string) string {
		v, _ := env.LookupEnv(key)
		return v
	}
}

// Load reads the profile from the config file and the environment, then applies the flags
// that were given (call it after fs.Parse). Bad settings are reported by name.
func (f *Flags) Load(env Env) (envconfig.ClientConfigProfile, error) {
	if err := checkSources(f.configFile.value, env); err != nil {
		return envconfig.ClientConfigProfile{}, err
	}
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
		ConfigFilePath: f.configFile.value, ConfigFileProfile: f.profile.value, EnvLookup: env,
	})
	if err != nil {
		return envconfig.ClientConfigProfile{}, fmt.Errorf("temporal connection settings (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE, TEMPORAL_*): %w", err)
	}
	if f.address.given {
		prof.Address = f.address.value
	}
	if f.namespace.given {
		prof.Namespace = f.namespace.value
	}
	if prof.Address == "" {
		prof.Address = DefaultAddress
	}
	if prof.Namespace == "" {
		prof.Namespace = DefaultNamespace
	}
	if prof.TLS == nil && (f.tls.given || f.caPath.given || f.certPath.given || f.keyPath.given || f.serverName.given) {
		prof.TLS = &envconfig.ClientConfigTLS{}
	}
	if t := prof.TLS; t != nil {
		if f.tls.given {
			t.Disabled = !f.tls.value
		}
		if f.caPath.given {
			t.ServerCACertPath, t.ServerCACertData = f.caPath.value, nil
		}
		if f.certPath.given {
			t.ClientCertPath, t.ClientCertData = f.certPath.value, nil
		}
		if f.keyPath.given {
			t.ClientKeyPath, t.ClientKeyData = f.keyPath.value, nil
		}
		if f.serverName.given {
			t.ServerName = f.serverName.value
		}
	}
	return prof, Validate(prof)
}

// checkSources names what the SDK would pass over silently: a config file named but absent,
// and a TEMPORAL_TLS that is not a boolean.
func checkSources(configFile string, env Env) error {
	var errs []error
	if configFile == "" {
		configFile, _ = env.LookupEnv("TEMPORAL_CONFIG_FILE")
	}
	if configFile != "" {
		if _, err := os.Stat(configFile); err != nil {
			errs = append(errs, fmt.Errorf("temporal config file (--temporal-config-file, TEMPORAL_CONFIG_FILE): %w", err))
		}
	}
	if v, ok := env.LookupEnv("TEMPORAL_TLS"); ok {
		switch strings.ToLower(v) {
		case "true", "false", "1", "0":
		default:
			errs = append(errs, fmt.Errorf("TEMPORAL_TLS=%q must be true or false", v))
		}
	}
	return errors.Join(errs...)
}

// Validate reports every setting that would only fail at the first call, naming it.
func Validate(p envconfig.ClientConfigProfile) error {
	var errs []error
	if _, port, err := net.SplitHostPort(p.Address); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("--temporal-address (TEMPORAL_ADDRESS) %q must be host:port, e.g. temporal-frontend.temporal:7233 or <namespace>.<account>.tmprl.cloud:7233", p.Address))
	}
	t := p.TLS
	if t == nil || t.Disabled {
		if p.APIKey != "" && t != nil && t.Disabled {
			errs = append(errs, errors.New("an API key (TEMPORAL_API_KEY) is sent only over TLS: drop TEMPORAL_TLS=false / --temporal-tls=false"))
		}
		return errors.Join(errs...)
	}
	if (t.ClientCertPath != "" || len(t.ClientCertData) > 0) != (t.ClientKeyPath != "" || len(t.ClientKeyData) > 0) {
		errs = append(errs, errors.New("mTLS needs both a client certificate and its key: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (--temporal-tls-cert-path, --temporal-tls-key-path) together"))
	}
	for _, file := range []struct{ name, path string }{
		{"TEMPORAL_TLS_SERVER_CA_CERT_PATH (--temporal-tls-ca-path)", t.ServerCACertPath},
		{"TEMPORAL_TLS_CLIENT_CERT_PATH (--temporal-tls-cert-path)", t.ClientCertPath},
		{"TEMPORAL_TLS_CLIENT_KEY_PATH (--temporal-tls-key-path)", t.ClientKeyPath},
	} {
		if file.path == "" {
			continue
		}
		if _, err := os.Stat(file.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file.name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// The SDK reads the files here: a certificate that does not parse is named now.
	if _, err := p.ToClientOptions(envconfig.ToClientOptionsRequest{}); err != nil {
		return fmt.Errorf("temporal TLS settings: %w", err)
	}
	return nil
}

// ClientOptions turns the profile into the SDK's client options.
func ClientOptions(p envconfig.ClientConfigProfile) (client.Options, error) {
	opts, err := p.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal connection settings: %w", err)
	}
	return opts, nil
}

// Describe says where and how the connection goes, without its secrets, for logs and
// errors: "temporal.example:7233 (namespace prod, TLS, API key)".
func Describe(p envconfig.ClientConfigProfile) string {
	how := []string{"namespace " + p.Namespace}
	switch {
	case p.TLS != nil && p.TLS.Disabled:
	case p.TLS != nil && (p.TLS.ClientCertPath != "" || len(p.TLS.ClientCertData) > 0):
		how = append(how, "mTLS")
	case p.TLS != nil || p.APIKey != "":
		how = append(how, "TLS")
	}
	if p.APIKey != "" {
		how = append(how, "API key")
	}
	return fmt.Sprintf("%s (%s)", p.Address, strings.Join(how, ", "))
}
