package ec2sim_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
)

// wireShape is a response body's layout: the root's namespace, then each element's path in the
// order it first appears. Two bodies with the same members, in the same order, nested the
// same way, have the same shape whatever their values.
func wireShape(t *testing.T, body []byte) []string {
	t.Helper()
	decoder := xml.NewDecoder(bytes.NewReader(body))
	var stack, shape []string
	for {
		token, err := decoder.Token()
		if errors.Is(err, io.EOF) {
			return shape
		}
		if err != nil {
			t.Fatalf("parse %s: %v", body, err)
		}
		switch element := token.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				shape = append(shape, "xmlns="+element.Name.Space)
			}
			stack = append(stack, element.Name.Local)
			if path := strings.Join(stack, "/"); !slices.Contains(shape, path) {
				shape = append(shape, path)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

// The market's read actions answer in the layout of EC2's own bodies (testdata/awswire): the
// same elements in the same order, an empty set written out and, for spot prices, an empty
// nextToken on the last page.
func TestMarketReadsAnswerInEC2sLayout(t *testing.T) {
	tests := []struct {
		name    string
		form    url.Values
		awsBody string
	}{
		{name: "offerings, a page with more to come",
			form:    url.Values{"Action": {"DescribeInstanceTypeOfferings"}, "LocationType": {"availability-zone"}, "MaxResults": {"5"}},
			awsBody: "ec2_DescribeInstanceTypeOfferings_az_page1.xml"},
		{name: "offerings, the last page",
			form:    url.Values{"Action": {"DescribeInstanceTypeOfferings"}, "LocationType": {"availability-zone"}},
			awsBody: "ec2_DescribeInstanceTypeOfferings_az_page2_last.xml"},
		{name: "spot prices, a page with more to come",
			form:    url.Values{"Action": {"DescribeSpotPriceHistory"}, "InstanceType.1": {"m5.large"}, "MaxResults": {"1"}},
			awsBody: "ec2_DescribeSpotPriceHistory_m5large_history_page1.xml"},
		{name: "spot prices, the last page",
			form:    url.Values{"Action": {"DescribeSpotPriceHistory"}, "InstanceType.1": {"m5.large"}},
			awsBody: "ec2_DescribeSpotPriceHistory_m5large_latest_lastpage.xml"},
		{name: "spot prices, none",
			form:    url.Values{"Action": {"DescribeSpotPriceHistory"}, "ProductDescription.1": {"Windows"}},
			awsBody: "ec2_DescribeSpotPriceHistory_empty_lastpage_VERBATIM.xml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := os.ReadFile("testdata/awswire/" + tc.awsBody)
			if err != nil {
				t.Fatal(err)
			}
			server := httptest.NewServer(newSim(t))
			t.Cleanup(server.Close)
			tc.form.Set("Version", "2016-11-15")
			resp, err := http.PostForm(server.URL, tc.form)
			if err != nil {
				t.Fatalf("post: %v", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/xml;charset=UTF-8" {
				t.Fatalf("answered HTTP %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if got, want := wireShape(t, body), wireShape(t, want); !slices.Equal(got, want) {
				t.Errorf("the answer is laid out\n%q\nEC2 lays it out\n%q", got, want)
			}
		})
	}
}
