package ssmsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/ssmsim"
)

func TestRequestsItDoesNotServeAreRefusedInTheJSONProtocolsShape(t *testing.T) {
	tests := []struct {
		name, method, target, body, wantType string
	}{
		{"an SSM operation it does not simulate", http.MethodPost, "AmazonSSM.PutParameter", "{}", "UnknownOperationException"},
		{"another service's operation", http.MethodPost, "AmazonSQS.ListQueues", "{}", "UnknownOperationException"},
		{"a GET", http.MethodGet, "AmazonSSM.GetParameter", "", "UnknownOperationException"},
		{"a body that is not JSON", http.MethodPost, "AmazonSSM.GetParameter", "{", "SerializationException"},
		{"a name that is not a string", http.MethodPost, "AmazonSSM.GetParameter", `{"Name":7}`, "SerializationException"},
		{"no name at all", http.MethodPost, "AmazonSSM.GetParameter", `{}`, ssmsim.CodeValidationException},
	}
	sim, err := ssmsim.New(ssmsim.Options{})
	if err != nil {
		t.Fatalf("build ssm sim: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/", strings.NewReader(tc.body))
			r.Header.Set("X-Amz-Target", tc.target)
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, r)

			var body struct {
				Type string `json:"__type"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body %q is not JSON: %v", w.Body.String(), err)
			}
			if w.Code != http.StatusBadRequest || body.Type != tc.wantType {
				t.Errorf("answered %d with __type %q, want 400 %s", w.Code, body.Type, tc.wantType)
			}
			if w.Header().Get("x-amzn-RequestId") == "" {
				t.Error("the error carries no request id")
			}
		})
	}
}
