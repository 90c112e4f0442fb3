package webhook

import (
	"fmt"
	"net"

	certutil "k8s.io/client-go/util/cert"
)

// selfSigned makes a CA and a serving certificate signed by it for hosts and ips. The
// returned certificate PEM holds both, so it is also the bundle the API server trusts.
func selfSigned(hosts []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	certPEM, keyPEM, err = certutil.GenerateSelfSignedCertKey(hosts[0], ips, hosts[1:])
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed webhook certificate: %w", err)
	}
	return certPEM, keyPEM, nil
}
