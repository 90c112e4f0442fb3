package market

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/pricing"

	"github.com/nodewright/nodewright/lab/localhttp"
)

// fixtureAWS serves the recorded responses in testdata: EC2 by Action and whether a
// NextToken was sent, Pricing by target and the same. It records every request and can be
// told to fail an action.
type fixtureAWS struct {
	t     *testing.T
	pages map[string][2]string // action -> first page, page after a NextToken ("" = none)

	mu       sync.Mutex
	failing  map[string]int // action -> HTTP status to answer
	requests []request
}

type request struct {
	action string
	form   url.Values // EC2 form, or for Pricing the JSON body under "body"
}

func newFixtureAWS(t *testing.T) *fixtureAWS {
	return &fixtureAWS{t: t, failing: map[string]int{}, pages: map[string][2]string{
		"DescribeInstanceTypes":         {"ec2_DescribeInstanceTypes_page1.xml", "ec2_DescribeInstanceTypes_page2_last.xml"},
		"DescribeInstanceTypeOfferings": {"ec2_DescribeInstanceTypeOfferings_az_page1.xml", "ec2_DescribeInstanceTypeOfferings_az_page2_last.xml"},
		"DescribeSpotPriceHistory":      {"ec2_DescribeSpotPriceHistory_m5large_history_page1.xml", "ec2_DescribeSpotPriceHistory_m5large_latest_lastpage.xml"},
		"GetProducts":                   {"pricing_GetProducts_c5ad2xlarge_afsouth1_2024_verbatimstring_page1.json", "pricing_GetProducts_m5large_useast1_2021.json"},
	}}
}

func (f *fixtureAWS) fail(action string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing[action] = status
}

func (f *fixtureAWS) requestsOf(action string) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []request
	for _, r := range f.requests {
		if r.action == action {
			out = append(out, r)
		}
	}
	return out
}

func (f *fixtureAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("read request: %v", err)
		return
	}
	var action string
	var form url.Values
	next := false
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		action = strings.TrimPrefix(target, "AWSPriceListService.")
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			f.t.Errorf("pricing body %q: %v", body, err)
		}
		_, next = in["NextToken"]
		form = url.Values{"body": {string(body)}}
	} else {
		form, err = url.ParseQuery(string(body))
		if err != nil {
			f.t.Errorf("EC2 form %q: %v", body, err)
		}
		action, next = form.Get("Action"), form.Get("NextToken") != ""
	}
	f.mu.Lock()
	f.requests = append(f.requests, request{action: action, form: form})
	status := f.failing[action]
	f.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	pages, ok := f.pages[action]
	if !ok {
		f.t.Errorf("no fixture for %s", action)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	file := pages[0]
	if next {
		file = pages[1]
	}
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		f.t.Errorf("fixture: %v", err)
	}
	if strings.HasSuffix(file, ".json") {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	} else {
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	}
	_, _ = w.Write(data)
}

// clients are the real SDK clients pointed at the fixtures, without retries.
func (f *fixtureAWS) clients() (*ec2.Client, *pricing.Client) {
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
	})
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds, RetryMaxAttempts: 1, HTTPClient: localhttp.Client()}
	return ec2.NewFromConfig(cfg), pricing.NewFromConfig(cfg)
}
