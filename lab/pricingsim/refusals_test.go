package pricingsim_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"github.com/aws/aws-sdk-go-v2/service/pricing/types"

	"github.com/nodewright/nodewright/lab/pricingsim"
)

func TestGetProductsRefusesWhatAWSRefusesNamingTheField(t *testing.T) {
	_, client := serve(t)
	first, err := client.GetProducts(t.Context(), &pricing.GetProductsInput{
		ServiceCode: aws.String("AmazonEC2"), MaxResults: aws.Int32(1), Filters: karpenterFilters("us-east-1"),
	})
	if err != nil || aws.ToString(first.NextToken) == "" {
		t.Fatalf("first page: %v, next token %q; want a page and a token", err, aws.ToString(first.NextToken))
	}
	tests := []struct {
		name              string
		in                pricing.GetProductsInput
		wantCode, wantMsg string
	}{
		{"no results per page", pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"), MaxResults: aws.Int32(0)},
			pricingsim.CodeInvalidParameter, "maxResults 0 must be between 1 and 100"},
		{"more results per page than AWS gives", pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"), MaxResults: aws.Int32(101)},
			pricingsim.CodeInvalidParameter, "maxResults 101 must be between 1 and 100"},
		{"another service", pricing.GetProductsInput{ServiceCode: aws.String("AmazonS3")},
			pricingsim.CodeInvalidParameter, `serviceCode "AmazonS3"`},
		{"another format", pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"), FormatVersion: aws.String("aws_v2")},
			pricingsim.CodeInvalidParameter, `formatVersion "aws_v2"`},
		{"a filter type AWS does not have", pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"),
			Filters: []types.Filter{termMatch("regionCode", "us-east-1"), {Field: aws.String("vcpu"), Type: "GREATER_THAN", Value: aws.String("2")}}},
			pricingsim.CodeInvalidParameter, `filters[1].type "GREATER_THAN"`},
		{"a token nobody handed out", pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"), NextToken: aws.String("bogus")},
			pricingsim.CodeInvalidNextToken, `nextToken "bogus"`},
		{"a token of another query", pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"), NextToken: first.NextToken,
			Filters: karpenterFilters("eu-west-1")}, pricingsim.CodeInvalidNextToken, "another serviceCode, formatVersion or filters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.GetProducts(t.Context(), &tc.in)
			code, message := errorCode(t, err)
			if code != tc.wantCode || !strings.Contains(message, tc.wantMsg) {
				t.Errorf("refused with %s %q, want %s naming %q", code, message, tc.wantCode, tc.wantMsg)
			}
		})
	}
	var typed *types.InvalidParameterException
	_, err = client.GetProducts(t.Context(), &pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"), MaxResults: aws.Int32(0)})
	if !errors.As(err, &typed) {
		t.Errorf("a bad MaxResults gave %T, want the SDK's typed InvalidParameterException", err)
	}
}
