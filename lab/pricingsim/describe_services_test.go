package pricingsim_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
)

func TestDescribeServicesListsEC2AndTheAttributesItsRecordsCarry(t *testing.T) {
	_, client := serve(t)
	tests := []struct {
		name        string
		serviceCode *string
		want        []string
	}{
		{"every service", nil, []string{"AmazonEC2"}},
		{"EC2", aws.String("AmazonEC2"), []string{"AmazonEC2"}},
		{"a service not priced", aws.String("AmazonS3"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.DescribeServices(t.Context(), &pricing.DescribeServicesInput{ServiceCode: tc.serviceCode})
			if err != nil {
				t.Fatalf("DescribeServices: %v", err)
			}
			var got []string
			for _, s := range out.Services {
				got = append(got, aws.ToString(s.ServiceCode))
				for _, name := range []string{"instanceType", "regionCode", "location", "operatingSystem", "tenancy", "capacitystatus"} {
					if !slices.Contains(s.AttributeNames, name) {
						t.Errorf("%s's attributes %v lack %s", aws.ToString(s.ServiceCode), s.AttributeNames, name)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("services %v, want %v", got, tc.want)
			}
		})
	}
}
