package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	apiextensionsfake "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/nodewright/nodewright/crds"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Serve points the CRDs that serve v1beta1 at itself, and the API server can then reach it
// over TLS trusting only the bundle put in the CRDs.
func TestServePointsTheCRDsAtTheWebhook(t *testing.T) {
	all, err := crds.All()
	if err != nil {
		t.Fatal(err)
	}
	objs := make([]runtime.Object, len(all))
	for i, c := range all {
		objs[i] = c
	}
	client := apiextensionsfake.NewClientset(objs...)
	addr := freeAddr(t)
	url := "https://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := Serve(ctx, Options{Addr: addr, URL: url}, client, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}

	var bundle []byte
	for _, name := range []string{"nodepools.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"} {
		crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cc := crd.Spec.Conversion.Webhook.ClientConfig
		if cc.URL == nil || *cc.URL != url+crds.WebhookPath || cc.Service != nil || len(cc.CABundle) == 0 {
			t.Fatalf("%s client config %+v, want URL %s%s and a CA bundle", name, cc, url, crds.WebhookPath)
		}
		bundle = cc.CABundle
	}
	claims, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "nodeclaims.karpenter.sh", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if claims.Spec.Conversion != nil && claims.Spec.Conversion.Webhook != nil {
		t.Errorf("nodeclaims.karpenter.sh serves v1 only and needs no webhook: %+v", claims.Spec.Conversion)
	}

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bundle) {
		t.Fatal("the CA bundle holds no certificate")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := hc.Post(url+crds.WebhookPath, "application/json", bytes.NewReader(review("karpenter.sh/v1", v1beta1Pool)))
	if err != nil {
		t.Fatalf("call the webhook as the API server would: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("webhook answered %d", resp.StatusCode)
	}
}

func TestServeWithoutTheCRDsSaysHowToInstallThem(t *testing.T) {
	err := Serve(context.Background(), Options{Addr: freeAddr(t)}, apiextensionsfake.NewClientset(), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "kubectl apply -f crds/") {
		t.Fatalf("err = %v, want it to say to install the CRDs", err)
	}
}

func TestServeRefusesABusyAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = Serve(context.Background(), Options{Addr: l.Addr().String()}, apiextensionsfake.NewClientset(), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("--webhook-addr %s", l.Addr())) {
		t.Fatalf("err = %v, want it to name --webhook-addr", err)
	}
}
