package temporal

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"go.temporal.io/server/common/config"

	"github.com/nodewright/nodewright/lab/certs"
)

const (
	// tlsValidity outlasts any lab session; the material is made again at the next lab start.
	tlsValidity = 24 * time.Hour
	// TLSServerName is the name the frontend's certificate is verified against. It is also valid
	// for 127.0.0.1 and ::1, so clients that dial the loopback address need no server name.
	TLSServerName = "localhost"
	// The files NewTLS writes.
	caCertFileName     = "ca.crt"
	clientCertFileName = "client.crt"
	clientKeyFileName  = "client.key"
)

// TLS is a throwaway certificate authority and the certificates a TLS frontend and its clients
// need. Give the same TLS to every Start of a server (a restart too): clients keep trusting it.
type TLS struct {
	// CACertFile is the CA certificate clients trust (TEMPORAL_TLS_SERVER_CA_CERT_PATH).
	CACertFile string
	// ClientCertFile and ClientKeyFile are the certificate and key clients present with mutual
	// TLS (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH); "" without it.
	ClientCertFile string
	ClientKeyFile  string
	// ServerName is what clients verify the frontend's certificate against
	// (TEMPORAL_TLS_SERVER_NAME).
	ServerName string
	// RequireClientCert makes it mutual TLS: the frontend refuses clients without a certificate
	// the CA signed.
	RequireClientCert bool

	ca, server, client certs.KeyPair
}

// NewTLS makes a CA valid for a day, a frontend certificate for localhost, 127.0.0.1 and ::1,
// and a client certificate, and writes into dir (created if missing) what clients in
// other processes read: ca.crt, and with requireClientCert client.crt and client.key. Keys are
// readable by the owner only.
func NewTLS(dir string, requireClientCert bool) (*TLS, error) {
	ca, err := certs.NewCA("nodewright-lab-temporal-ca", tlsValidity)
	if err != nil {
		return nil, fmt.Errorf("temporal TLS: %w", err)
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	server, err := ca.Sign(certs.ServerTemplate("temporal-frontend", []string{TLSServerName}, ips), tlsValidity)
	if err != nil {
		return nil, fmt.Errorf("temporal TLS: frontend certificate: %w", err)
	}
	// The server's own clients (system workers, the Web UI, Start's readiness checks) present
	// this certificate too, so one certificate serves inside and outside the process.
	client, err := ca.Sign(certs.ClientTemplate("temporal-client"), tlsValidity)
	if err != nil {
		return nil, fmt.Errorf("temporal TLS: client certificate: %w", err)
	}
	t := &TLS{ServerName: TLSServerName, RequireClientCert: requireClientCert, ca: ca, server: server, client: client}
	if err := t.writeFiles(dir); err != nil {
		return nil, fmt.Errorf("temporal TLS: %w", err)
	}
	return t, nil
}

func (t *TLS) writeFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	files := map[string][]byte{caCertFileName: t.ca.CertPEM}
	if t.RequireClientCert {
		files[clientCertFileName] = t.client.CertPEM
		files[clientKeyFileName] = t.client.KeyPEM
	} else {
		// A client key left by an earlier mutual-TLS lab would no longer be the one to use.
		for _, stale := range []string{clientCertFileName, clientKeyFileName} {
			if err := os.Remove(filepath.Join(dir, stale)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("remove stale %s: %w", stale, err)
			}
		}
	}
	paths, err := certs.WriteFiles(dir, files)
	if err != nil {
		return err
	}
	t.CACertFile = paths[caCertFileName]
	t.ClientCertFile = paths[clientCertFileName]
	t.ClientKeyFile = paths[clientKeyFileName]
	return nil
}

// String names the files only, so that logging a TLS never prints its private keys.
func (t *TLS) String() string {
	return fmt.Sprintf("temporal TLS (CA %s, client certificate %q, key %q, server name %s, client certificate required: %v)",
		t.CACertFile, t.ClientCertFile, t.ClientKeyFile, t.ServerName, t.RequireClientCert)
}

// ClientConfig is the TLS configuration of an in-process client: it trusts the CA, verifies
// ServerName, and presents the client certificate.
func (t *TLS) ClientConfig() *tls.Config {
	roots := x509.NewCertPool()
	roots.AddCert(t.ca.Cert)
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    roots,
		ServerName: t.ServerName,
		Certificates: []tls.Certificate{{
			Certificate: [][]byte{t.client.Cert.Raw}, PrivateKey: t.client.Key, Leaf: t.client.Cert,
		}},
	}
}

// Env is the Temporal SDK's environment (as its envconfig package reads it) for a client of
// this frontend's TLS.
func (t *TLS) Env() []string {
	env := []string{
		"TEMPORAL_TLS=true",
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + t.CACertFile,
		"TEMPORAL_TLS_SERVER_NAME=" + t.ServerName,
	}
	if t.RequireClientCert {
		env = append(env,
			"TEMPORAL_TLS_CLIENT_CERT_PATH="+t.ClientCertFile,
			"TEMPORAL_TLS_CLIENT_KEY_PATH="+t.ClientKeyFile)
	}
	return env
}

// serverTLS serves the frontend (gRPC and HTTP) over TLS. Internode traffic (history,
// matching, the worker service) stays plaintext on loopback; the system workers reach the
// frontend through PublicClient with the SystemWorker settings, presenting the client
// certificate.
func (t *TLS) serverTLS() config.RootTLS {
	caData := []string{b64(t.ca.CertPEM)}
	frontend := config.ServerTLS{
		CertData:          b64(t.server.CertPEM),
		KeyData:           b64(t.server.KeyPEM),
		RequireClientAuth: t.RequireClientCert,
	}
	if t.RequireClientCert {
		frontend.ClientCAData = caData
	}
	return config.RootTLS{
		Frontend: config.GroupTLS{Server: frontend},
		SystemWorker: config.WorkerTLS{
			CertData: b64(t.client.CertPEM),
			KeyData:  b64(t.client.KeyPEM),
			Client:   config.ClientTLS{ServerName: t.ServerName, RootCAData: caData},
		},
	}
}

// uiTLS is how the Web UI server reaches the frontend: it verifies the certificate and
// presents the client certificate.
func (t *TLS) uiTLS() uiconfig.TLS {
	return uiconfig.TLS{
		CaData:                 b64(t.ca.CertPEM),
		CertData:               b64(t.client.CertPEM),
		KeyData:                b64(t.client.KeyPEM),
		ServerName:             t.ServerName,
		EnableHostVerification: true,
	}
}

func b64(pem []byte) string { return base64.StdEncoding.EncodeToString(pem) }
