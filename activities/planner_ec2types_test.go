package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodewright/nodewright/activities/market"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// fakePricing answers GetProducts with one Linux on-demand price per type, in USD.
type fakePricing map[string]float64

func (f fakePricing) GetProducts(context.Context, *pricing.GetProductsInput, ...func(*pricing.Options)) (*pricing.GetProductsOutput, error) {
	out := &pricing.GetProductsOutput{}
	for name, price := range f {
		out.PriceList = append(out.PriceList, fmt.Sprintf(
			`{"product":{"attributes":{"instanceType":%q}},"terms":{"OnDemand":{"t":{"priceDimensions":{"d":{"pricePerUnit":{"USD":"%g"}}}}}}}`, name, price))
	}
	return out, nil
}

// z9xLarge is a type no catalog knows, as DescribeInstanceTypes would describe it.
var z9xLarge = ec2types.InstanceTypeInfo{
	InstanceType:          "z9x.large",
	VCpuInfo:              &ec2types.VCpuInfo{DefaultVCpus: aws.Int32(2)},
	MemoryInfo:            &ec2types.MemoryInfo{SizeInMiB: aws.Int64(8192)},
	ProcessorInfo:         &ec2types.ProcessorInfo{SupportedArchitectures: []ec2types.ArchitectureType{ec2types.ArchitectureTypeX8664}, Manufacturer: aws.String("Intel")},
	NetworkInfo:           &ec2types.NetworkInfo{MaximumNetworkInterfaces: aws.Int32(3), Ipv4AddressesPerInterface: aws.Int32(10), MaximumNetworkCards: aws.Int32(1)},
	Hypervisor:            ec2types.InstanceTypeHypervisorNitro,
	SupportedUsageClasses: []ec2types.UsageClassType{ec2types.UsageClassTypeOnDemand},
}

// A type EC2 lists that the embedded catalog lacks is offered at the Pricing API's price,
// planned for, and its nodes sized by Karpenter's formulas.
func TestPlanOffersATypeEC2ListsBeyondTheCatalog(t *testing.T) {
	pool := strings.Replace(defaultPool, `["m5.large", "m5.xlarge", "c5.large"]`, `["z9x.large"]`, 1)
	api := &fakeEC2{typePages: [][]string{{"m5.large", "z9x.large"}}, typeInfos: map[string]ec2types.InstanceTypeInfo{"z9x.large": z9xLarge}}
	p := newTestPlannerFor(t, pool, api, pod("web-1", pending(), requesting("1", "1Gi")))
	live, err := market.New(market.Options{Region: "us-east-1", Catalog: p.Catalog, EC2: api, Pricing: fakePricing{"m5.large": 0.096, "z9x.large": 0.05}})
	if err != nil {
		t.Fatal(err)
	}
	live.Refresh(context.Background())
	p.Market = live

	got, err := p.Plan(context.Background(), PlanRequest{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if len(got.Claims) != 1 || !slices.Equal(got.Claims[0].InstanceTypes, []string{"z9x.large"}) || got.Claims[0].PricePerHour != 0.05 {
		t.Fatalf("claims %+v, want one z9x.large at the Pricing API's 0.05", got.Claims)
	}

	p.Classes = staticClasses{"default": labClass()}
	pools := p.Pools.NodePools()
	types, err := p.instanceTypes(context.Background(), p.offeringZones(pools))
	if err != nil {
		t.Fatal(err)
	}
	derived, _ := live.Snapshot().Derived("z9x.large")
	_, want, err := catalog.NodeResources(derived, catalog.KubeletSettings{})
	if err != nil {
		t.Fatal(err)
	}
	sized := p.poolAllocatable(pools, types)["default"]["z9x.large"]
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		if g, w := sized[name], want[name]; g.Cmp(w) != 0 || g.IsZero() {
			t.Errorf("pool's z9x.large %s = %s, want %s from NodeResources", name, g.String(), w.String())
		}
	}
}
