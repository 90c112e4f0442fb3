package worker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestEventsHaveTheirOwnRateLimit: with the API client's burst spent, an event still goes
// out at once, and the API client still waits its turn.
func TestEventsHaveTheirOwnRateLimit(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"EventList","apiVersion":"v1","items":[]}`))
	}))
	defer server.Close()
	api, events, err := kubeClients(&rest.Config{Host: server.URL, QPS: 0.01, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	list := func(c kubernetes.Interface) error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := c.CoreV1().Events("").List(ctx, metav1.ListOptions{})
		return err
	}
	if err := list(api); err != nil {
		t.Fatalf("the API client's first request: %v", err)
	}
	// client-go refuses at once a request whose turn would come after its deadline.
	if err := list(api); err == nil {
		t.Fatal("the API client's second request went out within its burst of one at 0.01 a second")
	}
	if err := list(events); err != nil {
		t.Errorf("the events client waited on the API client's rate limit: %v", err)
	}
}
