package pricingsim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// serviceCode is the one service the endpoint prices.
const serviceCode = "AmazonEC2"

// Product families: bare metal types are listed apart.
const (
	familyCompute   = "Compute Instance"
	familyBareMetal = "Compute Instance (bare metal)"
)

// windowsLicencePerVCPU is what Windows adds per vCPU-hour to most types' Linux price.
const windowsLicencePerVCPU = 0.046

// offer is one way a type is sold in a region: a product of its own, with its own SKU.
type offer struct {
	tenancy, operatingSystem, capacityStatus string
	usage                                    string // the usage type before ":<type>"
	operation                                string
	// describe words the price, e.g. "On Demand Linux"; reserved is true where the hour is paid
	// by a capacity reservation, so the price is zero.
	describe string
	reserved bool
}

// offersOf are the products AWS lists for a type in a region: Linux in use and in capacity
// reservations, Windows on x86, and for bare metal, dedicated tenancy beside shared.
func offersOf(t typeRecord) []offer {
	offers := []offer{
		{"Shared", "Linux", "Used", "BoxUsage", "RunInstances", "On Demand Linux", false},
		{"Shared", "Linux", "UnusedCapacityReservation", "UnusedBox", "RunInstances", "Unused Reservation Linux", false},
		{"Shared", "Linux", "AllocatedCapacityReservation", "Reservation", "RunInstances", "Reservation Linux", true},
	}
	if t.x86 {
		offers = append(offers, offer{"Shared", "Windows", "Used", "BoxUsage", "RunInstances:0002", "On Demand Windows", false})
	}
	if t.bareMetal {
		offers = append(offers, offer{"Dedicated", "Linux", "Used", "DedicatedUsage", "RunInstances", "On Demand Dedicated Linux", false})
	}
	return offers
}

// typeRecord is what the catalog says of a type, ready for its records.
type typeRecord struct {
	name       string
	vcpu       int
	x86        bool
	bareMetal  bool
	attributes map[string]string // typeAttributes, shared by every record of the type
	offers     []offer
}

// product is a type sold one way in one region.
type product struct {
	region *region
	typ    *typeRecord
	offer  offer
}

// offerAttributeNames are the attributes that differ by region and offer.
func offerAttributeNames() []string {
	return []string{"regionCode", "location", "tenancy", "operatingSystem", "capacitystatus", "usagetype", "operation"}
}

// field is the product's value of a GetProducts filter field; ok is false for a field the
// product does not have. The service code answers in any case, as ServiceCode (documented),
// serviceCode (Karpenter's) and servicecode (the attribute).
func (p product) field(name string) (string, bool) {
	switch {
	case name == "productFamily":
		return p.family(), true
	case strings.EqualFold(name, "servicecode"):
		return serviceCode, true
	}
	if v, ok := p.offerAttribute(name); ok {
		return v, true
	}
	v, ok := p.typ.attributes[name]
	return v, ok
}

func (p product) offerAttribute(name string) (string, bool) {
	switch name {
	case "regionCode":
		return p.region.code, true
	case "location":
		return p.region.location, true
	case "tenancy":
		return p.offer.tenancy, true
	case "operatingSystem":
		return p.offer.operatingSystem, true
	case "capacitystatus":
		return p.offer.capacityStatus, true
	case "usagetype":
		return p.region.usagePrefix + p.offer.usage + ":" + p.typ.name, true
	case "operation":
		return p.offer.operation, true
	}
	return "", false
}

func (p product) family() string {
	if p.typ.bareMetal {
		return familyBareMetal
	}
	return familyCompute
}

// sku is a stable 16-character id of the product, shaped as AWS's are.
func (p product) sku() string {
	h := fnv.New128a()
	fmt.Fprintf(h, "%s/%s/%s/%s/%s", p.region.code, p.typ.name, p.offer.tenancy, p.offer.operatingSystem, p.offer.capacityStatus)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	sum := h.Sum(nil)
	out := make([]byte, 16)
	for i := range out {
		out[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(out)
}

// price is the product's hourly price from the region's on-demand price of the type.
func (p product) price(onDemand float64) float64 {
	switch {
	case p.offer.reserved:
		return 0
	case p.offer.operatingSystem == "Windows":
		return math.Round((onDemand+windowsLicencePerVCPU*float64(p.typ.vcpu))*1e6) / 1e6
	}
	return onDemand
}

// The record's fixed codes, as in every real EC2 on-demand record: the OnDemand offer term and
// the hourly rate.
const (
	onDemandTermCode = "JRTCKXETXF"
	hourlyRateCode   = "6YS6EN2CT7"
	effectiveDate    = "2026-07-01T00:00:00Z"
	publicationDate  = "2026-07-20T00:00:00Z"
	priceListVersion = "20260720000000"
)

// priceRecord is one PriceList element before it is encoded as the JSON string AWS sends.
type priceRecord struct {
	Product         productJSON `json:"product"`
	ServiceCode     string      `json:"serviceCode"`
	Terms           termsJSON   `json:"terms"`
	Version         string      `json:"version"`
	PublicationDate string      `json:"publicationDate"`
}

type productJSON struct {
	ProductFamily string            `json:"productFamily"`
	Attributes    map[string]string `json:"attributes"`
	SKU           string            `json:"sku"`
}

// termsJSON holds the OnDemand terms only: the lab sells no reserved instances.
type termsJSON struct {
	OnDemand map[string]termJSON `json:"OnDemand"`
}

type termJSON struct {
	PriceDimensions map[string]priceDimensionJSON `json:"priceDimensions"`
	SKU             string                        `json:"sku"`
	EffectiveDate   string                        `json:"effectiveDate"`
	OfferTermCode   string                        `json:"offerTermCode"`
	TermAttributes  map[string]string             `json:"termAttributes"`
}

type priceDimensionJSON struct {
	Unit         string            `json:"unit"`
	EndRange     string            `json:"endRange"`
	Description  string            `json:"description"`
	AppliesTo    []string          `json:"appliesTo"`
	RateCode     string            `json:"rateCode"`
	BeginRange   string            `json:"beginRange"`
	PricePerUnit map[string]string `json:"pricePerUnit"`
}

// record is the product's PriceList element at the region's on-demand price of its type.
func (p product) record(onDemand float64) (string, error) {
	sku, price := p.sku(), p.price(onDemand)
	attributes := maps.Clone(p.typ.attributes)
	for _, name := range offerAttributeNames() {
		attributes[name], _ = p.offerAttribute(name)
	}
	term := sku + "." + onDemandTermCode
	rate := term + "." + hourlyRateCode
	r := priceRecord{
		Product:     productJSON{ProductFamily: p.family(), Attributes: attributes, SKU: sku},
		ServiceCode: serviceCode,
		Terms: termsJSON{OnDemand: map[string]termJSON{term: {
			PriceDimensions: map[string]priceDimensionJSON{rate: {
				Unit: "Hrs", EndRange: "Inf", BeginRange: "0", AppliesTo: []string{}, RateCode: rate,
				Description:  fmt.Sprintf("$%s per %s %s Instance Hour", dollars(price), p.offer.describe, p.typ.name),
				PricePerUnit: map[string]string{"USD": strconv.FormatFloat(price, 'f', 10, 64)},
			}},
			SKU: sku, EffectiveDate: effectiveDate, OfferTermCode: onDemandTermCode, TermAttributes: map[string]string{},
		}}},
		Version:         priceListVersion,
		PublicationDate: publicationDate,
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode the price record of %s: %w", p.typ.name, err)
	}
	return string(b), nil
}

// dollars writes a price as descriptions do: "0.096", and "0.00" for nothing.
func dollars(price float64) string {
	if price == 0 {
		return "0.00"
	}
	return strconv.FormatFloat(price, 'f', -1, 64)
}

// attributeNames are every attribute records carry, sorted, as DescribeServices lists them.
func attributeNames(types []typeRecord) []string {
	names := offerAttributeNames()
	for _, t := range types {
		for name := range t.attributes {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
