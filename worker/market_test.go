package worker

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/activities/market"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// spotOnlyEC2 answers spot prices only, from spot (type/zone → price); EC2's other lists
// fail, so the market keeps the embedded ones.
type spotOnlyEC2 struct {
	spot map[[2]string]float64
}

func (f *spotOnlyEC2) DescribeInstanceTypes(context.Context, *ec2.DescribeInstanceTypesInput, ...func(*ec2.Options)) (*ec2.DescribeInstanceTypesOutput, error) {
	return nil, errors.New("not served")
}

func (f *spotOnlyEC2) DescribeInstanceTypeOfferings(context.Context, *ec2.DescribeInstanceTypeOfferingsInput, ...func(*ec2.Options)) (*ec2.DescribeInstanceTypeOfferingsOutput, error) {
	return nil, errors.New("not served")
}

func (f *spotOnlyEC2) DescribeSpotPriceHistory(context.Context, *ec2.DescribeSpotPriceHistoryInput, ...func(*ec2.Options)) (*ec2.DescribeSpotPriceHistoryOutput, error) {
	out := &ec2.DescribeSpotPriceHistoryOutput{}
	for k, p := range f.spot {
		out.SpotPriceHistory = append(out.SpotPriceHistory, ec2types.SpotPrice{InstanceType: ec2types.InstanceType(k[0]),
			AvailabilityZone: aws.String(k[1]), SpotPrice: aws.String(strconv.FormatFloat(p, 'f', -1, 64)), Timestamp: aws.Time(time.Now())})
	}
	return out, nil
}

func TestLaunchesPriceTheirInstanceFromTheMarketAsItIsNow(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	api := &spotOnlyEC2{spot: map[[2]string]float64{{"m5.large", "us-east-1a"}: 0.04}}
	live, err := market.New(market.Options{Region: "us-east-1", Catalog: types, EC2: api})
	if err != nil {
		t.Fatal(err)
	}
	live.Refresh(context.Background())
	ec2Acts := &activities.EC2{}
	followMarket(ec2Acts, live)
	if ec2Acts.Price == nil || ec2Acts.Offered == nil || ec2Acts.OnCapacityError == nil {
		t.Fatal("launches do not follow the market: Price, Offered or OnCapacityError unset")
	}
	price := func(capacityType string) float64 {
		t.Helper()
		p, ok := ec2Acts.Price("m5.large", "us-east-1a", capacityType)
		if !ok {
			t.Fatalf("m5.large %s in us-east-1a has no price", capacityType)
		}
		return p
	}
	if got := price("on-demand"); got != 0.096 {
		t.Errorf("m5.large on-demand = %v/h, want the embedded 0.096", got)
	}
	if got := price("spot"); got != 0.04 {
		t.Errorf("m5.large spot = %v/h, want EC2's 0.04", got)
	}
	api.spot[[2]string{"m5.large", "us-east-1a"}] = 0.07
	live.Refresh(context.Background())
	if got := price("spot"); got != 0.07 {
		t.Errorf("m5.large spot = %v/h after the spot price rose, want the new 0.07", got)
	}
}
