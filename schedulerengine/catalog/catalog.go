package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
)

//go:embed instance-types.json
var rawTypes []byte

// Type is one record of the catalog, in its own field names.
type Type struct {
	Name                 string       `json:"name"`
	Family               string       `json:"family"`
	Category             string       `json:"category"`
	Generation           int          `json:"generation"`
	Size                 string       `json:"size"`
	VCPU                 int          `json:"vcpu"`
	MemoryMiB            int64        `json:"memoryMiB"`
	Architectures        []string     `json:"architectures"`
	CPUManufacturer      string       `json:"cpuManufacturer"`
	GPU                  *GPU         `json:"gpu"`
	Accelerators         *Accelerator `json:"accelerators"`
	LocalNVMeGiB         int64        `json:"localNvmeGiB"`
	NetworkBandwidthGbps float64      `json:"networkBandwidthGbps"`
	Allocatable          Allocatable  `json:"karpenterAllocatable"`
	MaxPods              int          `json:"maxPods"`
	// MaxENI is the type's network interfaces over all its network cards, IPv4PerENI the
	// addresses each takes (Karpenter's vpclimits); 0 when unknown.
	MaxENI           int      `json:"maxENI"`
	IPv4PerENI       int      `json:"ipv4PerENI"`
	NetworkCards     int      `json:"networkCards"`
	Hypervisor       string   `json:"hypervisor"`
	BareMetal        bool     `json:"bareMetal"`
	Burstable        bool     `json:"burstable"`
	UsageClasses     []string `json:"supportedUsageClasses"`
	OnDemandPrice    float64  `json:"onDemandPricePerHour"`
	SpotSavingsPct   *float64 `json:"spotSavingsPct"`
	SpotInterruption string   `json:"spotInterruption"`
}

type GPU struct {
	Count        int    `json:"count"`
	Name         string `json:"name"`
	Manufacturer string `json:"manufacturer"`
	MemoryMiB    int64  `json:"memoryMiB"`
}

type Accelerator struct {
	Count        int    `json:"count"`
	Name         string `json:"name"`
	Manufacturer string `json:"manufacturer"`
}

// Allocatable is Karpenter's documented allocatable, as quantities in Kubernetes notation.
type Allocatable struct {
	CPU              string `json:"cpu"`
	Memory           string `json:"memory"`
	EphemeralStorage string `json:"ephemeralStorage"`
	Pods             int    `json:"pods"`
}

// medianSpotSavingsPct stands in where Spot Advisor has no figure (see README).
const medianSpotSavingsPct = 66

// SpotPrice is the modelled spot price: on-demand less the Spot Advisor saving.
func (t Type) SpotPrice() float64 { return SpotPriceFrom(t.OnDemandPrice, t.SpotSavingsPct) }

// SupportsSpot reports whether the type is sold as spot.
func (t Type) SupportsSpot() bool { return slices.Contains(t.UsageClasses, "spot") }

// Load parses the embedded catalog, sorted by name. Each call returns a fresh slice.
func Load() ([]Type, error) {
	var types []Type
	if err := json.Unmarshal(rawTypes, &types); err != nil {
		return nil, fmt.Errorf("parse embedded instance-type catalog: %w", err)
	}
	slices.SortFunc(types, func(a, b Type) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return types, nil
}

// Index returns the catalog keyed by instance type name.
func Index(types []Type) map[string]Type {
	m := make(map[string]Type, len(types))
	for _, t := range types {
		m[t.Name] = t
	}
	return m
}
