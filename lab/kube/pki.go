package kube

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"time"

	"github.com/nodewright/nodewright/lab/certs"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
)

// pki holds the lab cluster's certificate authority and the certificates signed by it.
// Everything is generated fresh per start: the lab is disposable.
type pki struct {
	CA         certs.KeyPair
	Server     certs.KeyPair
	Admin      certs.KeyPair
	Scheduler  certs.KeyPair
	SAKeyPEM   []byte // service-account token signing key
	ServingIPs []net.IP
}

func newPKI() (*pki, error) {
	ca, err := certs.NewCA("nodewright-lab-ca", caValidity)
	if err != nil {
		return nil, err
	}
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}
	server, err := ca.Sign(certs.ServerTemplate("kube-apiserver",
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}, ips), leafValidity)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	admin, err := ca.Sign(certs.ClientTemplate("kubernetes-admin", "system:masters"), leafValidity)
	if err != nil {
		return nil, fmt.Errorf("admin certificate: %w", err)
	}
	sched, err := ca.Sign(certs.ClientTemplate("system:kube-scheduler"), leafValidity)
	if err != nil {
		return nil, fmt.Errorf("scheduler certificate: %w", err)
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	saDER, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		return nil, err
	}
	return &pki{
		CA: ca, Server: server, Admin: admin, Scheduler: sched,
		SAKeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: saDER}),
		ServingIPs: ips,
	}, nil
}

// writeFiles writes the files kube-apiserver reads its TLS material from and returns their paths.
func (p *pki) writeFiles(dir string) (map[string]string, error) {
	return certs.WriteFiles(dir, map[string][]byte{
		"ca.crt":        p.CA.CertPEM,
		"apiserver.crt": p.Server.CertPEM,
		"apiserver.key": p.Server.KeyPEM,
		"sa.key":        p.SAKeyPEM,
	})
}
