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

// spotOnlyEC2 answers spot prices from spot (type/zone → price), and instance types from
// types if set; EC2's other lists fail, so the market keeps the embedded ones.
type spotOnlyEC2 struct {
	spot  map[[2]string]float64
	types []ec2types.InstanceTypeInfo
}

func (f *spotOnlyEC2) DescribeInstanceTypes(context.Context, *ec2.DescribeInstanceTypesInput, ...func(*ec2.Options)) (*ec2.DescribeInstanceTypesOutput, error) {
	if f.types == nil {
		return nil, errors.New("not served")
	}
	return &ec2.DescribeInstanceTypesOutput{InstanceTypes: f.types}, nil
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

// Nodes of a type EC2 lists beyond the catalog carry the labels derived from what EC2 says of
// it; a catalog type keeps the catalog's.
func TestInstanceTypeLabelsOfATypeBeyondTheCatalog(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	api := &spotOnlyEC2{types: []ec2types.InstanceTypeInfo{{InstanceType: "m5.large"}, {
		InstanceType:  "z9x.large",
		VCpuInfo:      &ec2types.VCpuInfo{DefaultVCpus: aws.Int32(2)},
		MemoryInfo:    &ec2types.MemoryInfo{SizeInMiB: aws.Int64(8192)},
		ProcessorInfo: &ec2types.ProcessorInfo{SupportedArchitectures: []ec2types.ArchitectureType{ec2types.ArchitectureTypeArm64}, Manufacturer: aws.String("AWS")},
	}}}
	live, err := market.New(market.Options{Region: "us-east-1", Catalog: types, EC2: api})
	if err != nil {
		t.Fatal(err)
	}
	live.Refresh(context.Background())
	labels := instanceTypeLabels(types, "us-east-1", live.Snapshot)

	z9x := labels("z9x.large")
	for key, want := range map[string]string{"kubernetes.io/arch": "arm64", catalog.LabelInstanceFamily: "z9x", catalog.LabelInstanceCategory: "z",
		catalog.LabelInstanceGeneration: "9", catalog.LabelInstanceCPU: "2", catalog.LabelInstanceMemory: "8192", catalog.LabelInstanceCPUManufacturer: "aws"} {
		if z9x[key] != want {
			t.Errorf("z9x.large %s = %q, want %q", key, z9x[key], want)
		}
	}
	if got := labels("m5.large")[catalog.LabelInstanceCPUManufacturer]; got != "intel" {
		t.Errorf("m5.large cpu manufacturer = %q, want the catalog's intel", got)
	}
	if got := labels("nothing.large"); got != nil {
		t.Errorf("a type nobody lists has labels %v", got)
	}
}
