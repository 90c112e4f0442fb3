package sqssim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/sqssim"
)

func TestOperationsItDoesNotSimulateAreRefusedInTheJSONProtocolsShape(t *testing.T) {
	tests := []struct {
		name, method, target string
	}{
		{"an SQS operation it does not simulate", http.MethodPost, "AmazonSQS.ListQueues"},
		{"another service's operation", http.MethodPost, "DynamoDB_20120810.ListTables"},
		{"a GET in the Query protocol", http.MethodGet, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/", strings.NewReader("{}"))
			r.Header.Set("X-Amz-Target", tc.target)
			r.Header.Set("Content-Type", "application/x-amz-json-1.0")
			w := httptest.NewRecorder()
			sqssim.New(sqssim.Options{}).ServeHTTP(w, r)

			var body struct {
				Type string `json:"__type"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body %q is not JSON: %v", w.Body.String(), err)
			}
			if w.Code != http.StatusBadRequest || !strings.HasSuffix(body.Type, "#UnknownOperationException") {
				t.Errorf("answered %d with __type %q, want 400 UnknownOperationException", w.Code, body.Type)
			}
		})
	}
}
