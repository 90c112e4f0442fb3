package certs

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSignedCertificatesVerifyOnlyForWhatTheyName(t *testing.T) {
	ca, err := NewCA("test-ca", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Sign(ServerTemplate("server", []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Sign(ClientTemplate("worker", "operators"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA("other-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(other.Cert)

	tests := []struct {
		name   string
		cert   KeyPair
		opts   x509.VerifyOptions
		wantOK bool
	}{
		{"the server certificate is valid for localhost", server, x509.VerifyOptions{Roots: roots, DNSName: "localhost"}, true},
		{"the server certificate is valid for 127.0.0.1", server, x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}, true},
		{"the server certificate is not valid for another host", server, x509.VerifyOptions{Roots: roots, DNSName: "example.com"}, false},
		{"the server certificate is not trusted by another CA", server, x509.VerifyOptions{Roots: otherRoots, DNSName: "localhost"}, false},
		{"the server certificate is not a client certificate", server,
			x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, false},
		{"the client certificate authenticates a client", client,
			x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, true},
		{"the client certificate does not serve", client, x509.VerifyOptions{Roots: roots}, false},
		{"the server certificate has expired two hours on", server,
			x509.VerifyOptions{Roots: roots, DNSName: "localhost", CurrentTime: time.Now().Add(2 * time.Hour)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cert.Cert.Verify(tt.opts)
			if gotOK := err == nil; gotOK != tt.wantOK {
				t.Fatalf("verify %s: ok = %v (err %v), want ok = %v", tt.cert.Cert.Subject.CommonName, gotOK, err, tt.wantOK)
			}
		})
	}
	if got := client.Cert.Subject.Organization; len(got) != 1 || got[0] != "operators" {
		t.Errorf("client certificate organisations are %v, want [operators]", got)
	}
}

func TestWriteFilesKeepsThemPrivate(t *testing.T) {
	dir := t.TempDir()
	paths, err := WriteFiles(dir, map[string][]byte{"ca.crt": []byte("cert"), "client.key": []byte("key")})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"ca.crt": "cert", "client.key": "key"} {
		if paths[name] != filepath.Join(dir, name) {
			t.Errorf("path of %s is %q, want %q", name, paths[name], filepath.Join(dir, name))
		}
		info, err := os.Stat(paths[name])
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want -rw-------", name, info.Mode().Perm())
		}
		if got, _ := os.ReadFile(paths[name]); string(got) != want {
			t.Errorf("%s holds %q, want %q", name, got, want)
		}
	}
}
