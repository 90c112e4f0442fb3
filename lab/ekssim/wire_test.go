package ekssim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/ekssim"
)

func TestRequestsItDoesNotServeAreRefusedInTheRESTJSONShape(t *testing.T) {
	tests := []struct {
		name, method, path, wantType string
	}{
		{"an unknown cluster", http.MethodGet, "/clusters/ghost", ekssim.CodeResourceNotFound},
		{"ListClusters, which it does not simulate", http.MethodGet, "/clusters", "UnknownOperationException"},
		{"DeleteCluster, which it does not simulate", http.MethodDelete, "/clusters/lab", "UnknownOperationException"},
		{"a nodegroup route", http.MethodGet, "/clusters/lab/node-groups", "UnknownOperationException"},
	}
	sim, err := ekssim.New(ekssim.Options{Clusters: []ekssim.Cluster{labCluster()}})
	if err != nil {
		t.Fatalf("build eks sim: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			var body struct {
				Message string `json:"message"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body %q is not JSON: %v", w.Body, err)
			}
			typ, _, _ := strings.Cut(w.Header().Get("x-amzn-ErrorType"), ":")
			if w.Code != http.StatusNotFound || typ != tc.wantType || body.Message == "" || w.Header().Get("x-amzn-RequestId") == "" {
				t.Errorf("answered %d with type %q, message %q; want 404 %s with a message and a request id", w.Code, typ, body.Message, tc.wantType)
			}
		})
	}
}
