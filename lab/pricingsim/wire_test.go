package pricingsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/marketsim"
	"github.com/nodewright/nodewright/lab/pricingsim"
)

func TestRequestsItDoesNotServeAreRefusedInTheJSONProtocolsShape(t *testing.T) {
	tests := []struct {
		name, method, target, body, wantType string
	}{
		{"a Pricing operation it does not simulate", http.MethodPost, "AWSPriceListService.ListPriceLists", "{}", "UnknownOperationException"},
		{"another service's operation", http.MethodPost, "AmazonSSM.GetParameter", "{}", "UnknownOperationException"},
		{"a GET", http.MethodGet, "AWSPriceListService.GetProducts", "", "UnknownOperationException"},
		{"a body that is not JSON", http.MethodPost, "AWSPriceListService.GetProducts", "{", "SerializationException"},
		{"filters that are not a list", http.MethodPost, "AWSPriceListService.GetProducts", `{"ServiceCode":"AmazonEC2","Filters":7}`, "SerializationException"},
		{"no service code", http.MethodPost, "AWSPriceListService.GetProducts", `{}`, pricingsim.CodeInvalidParameter},
		{"a filter without a field", http.MethodPost, "AWSPriceListService.GetProducts",
			`{"ServiceCode":"AmazonEC2","Filters":[{"Type":"TERM_MATCH","Value":"m5.large"}]}`, pricingsim.CodeInvalidParameter},
	}
	sim, err := pricingsim.New(pricingsim.Options{Types: loadCatalog(t)})
	if err != nil {
		t.Fatalf("build the pricing sim: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, errorType := post(t, sim, tc.method, tc.target, tc.body); status != http.StatusBadRequest || errorType != tc.wantType {
				t.Errorf("answered %d with __type %q, want 400 %s", status, errorType, tc.wantType)
			}
		})
	}
}

// post sends the sim a raw request, as a client other than the SDK might, and returns the
// status and the __type of the error answered, failing where the answer is not one.
func post(t *testing.T, sim *pricingsim.Sim, method, target, body string) (status int, errorType string) {
	t.Helper()
	r := httptest.NewRequest(method, "/", strings.NewReader(body))
	r.Header.Set("X-Amz-Target", target)
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	w := httptest.NewRecorder()
	sim.ServeHTTP(w, r)
	var refusal struct {
		Type string `json:"__type"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &refusal); err != nil || w.Header().Get("x-amzn-RequestId") == "" {
		t.Fatalf("answer %q is not an error with a request id: %v", w.Body.String(), err)
	}
	return w.Code, refusal.Type
}

func TestNewRefusesWhatItCannotPrice(t *testing.T) {
	market := newMarket(t, "eu-west-1")
	tests := []struct {
		name string
		o    pricingsim.Options
	}{
		{"no catalog", pricingsim.Options{}},
		{"two markets of one region", pricingsim.Options{Types: loadCatalog(t), Markets: []*marketsim.Market{market, market}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := pricingsim.New(tc.o); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}
