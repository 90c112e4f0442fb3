package pricingsim_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"github.com/aws/smithy-go"
)

func TestAnUnreachableEndpointAnswersNothingUntilReachableAgain(t *testing.T) {
	sim, client := serve(t)
	in := &pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"), MaxResults: aws.Int32(1)}

	sim.SetReachable(false)
	_, err := client.GetProducts(t.Context(), in)
	var apiErr smithy.APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("an unreachable endpoint answered %v; want a transport error and no answer", err)
	}
	if got := sim.Calls("GetProducts"); got != 1 {
		t.Errorf("the sim saw %d GetProducts, want the dropped one counted", got)
	}

	sim.SetReachable(true)
	out, err := client.GetProducts(t.Context(), in)
	if err != nil || len(out.PriceList) != 1 {
		t.Fatalf("reachable again: %v with %d records, want one record", err, len(out.PriceList))
	}
}
