package pricingsim

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// typeAttributes are the attributes a type's records share in every region and offer. Where
// the catalog lacks a figure AWS lists (processor model, clock speed, EBS throughput), the
// record leaves it out or says it coarsely, as noted.
func typeAttributes(t catalog.Type) map[string]string {
	return map[string]string{
		"servicecode":                 serviceCode,
		"servicename":                 "Amazon Elastic Compute Cloud",
		"locationType":                "AWS Region",
		"instanceType":                t.Name,
		"vcpu":                        strconv.Itoa(t.VCPU),
		"memory":                      memory(t.MemoryMiB),
		"instanceFamily":              instanceFamily(t.Category),
		"currentGeneration":           currentGeneration(t.Family),
		"physicalProcessor":           physicalProcessor(t.CPUManufacturer),
		"processorArchitecture":       "64-bit",
		"storage":                     storage(t.LocalNVMeGiB),
		"networkPerformance":          networkPerformance(t.NetworkBandwidthGbps),
		"normalizationSizeFactor":     normalizationSizeFactor(t),
		"enhancedNetworkingSupported": enhancedNetworking(t.Family),
		"vpcnetworkingsupport":        "true",
		"classicnetworkingsupport":    "false",
		"preInstalledSw":              "NA",
		"licenseModel":                "No License required",
		"marketoption":                "OnDemand",
		"availabilityzone":            "NA",
	}
}

// memory is in GiB as AWS writes it: "0.5 GiB", "3.75 GiB", "1,952 GiB".
func memory(mib int64) string {
	gib := strconv.FormatFloat(math.Round(float64(mib)/1024*100)/100, 'f', -1, 64)
	whole, fraction, hasFraction := strings.Cut(gib, ".")
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	if hasFraction {
		whole += "." + fraction
	}
	return whole + " GiB"
}

// instanceFamily is AWS's name for the category of types.
func instanceFamily(category string) string {
	switch category {
	case "m", "t", "a", "mac":
		return "General purpose"
	case "c", "hpc":
		return "Compute optimized"
	case "r", "x", "u", "z":
		return "Memory optimized"
	case "i", "d", "h", "im", "is":
		return "Storage optimized"
	case "g", "gr", "p":
		return "GPU instance"
	case "f":
		return "FPGA Instances"
	case "inf", "trn", "dl":
		return "Machine Learning ASIC Instances"
	case "vt":
		return "Media Accelerator Instances"
	}
	return "NA"
}

// previousGeneration is true for the families AWS lists as previous generation beyond doubt.
func previousGeneration(family string) bool {
	switch family {
	case "t1", "m1", "m2", "m3", "c1", "c3", "i2", "r3":
		return true
	}
	return false
}

func currentGeneration(family string) string { return yesNo(!previousGeneration(family)) }

// enhancedNetworking is Yes but for the oldest families; the catalog does not say.
func enhancedNetworking(family string) string { return yesNo(!previousGeneration(family)) }

// physicalProcessor names the maker's line only: the catalog has no processor model.
func physicalProcessor(manufacturer string) string {
	switch manufacturer {
	case "intel":
		return "Intel Xeon Family"
	case "amd":
		return "AMD EPYC Family"
	case "aws":
		return "AWS Graviton Family"
	}
	return "NA"
}

// storage gives the local NVMe total as one disk: the catalog has the total only.
func storage(nvmeGiB int64) string {
	if nvmeGiB == 0 {
		return "EBS only"
	}
	return fmt.Sprintf("1 x %d NVMe SSD", nvmeGiB)
}

func networkPerformance(gbps float64) string {
	if gbps == 0 {
		return "NA"
	}
	return strconv.FormatFloat(gbps, 'f', -1, 64) + " Gigabit"
}

// normalizationSizeFactor is AWS's size weight: 4 for a large, 8 per xlarge, and for a metal
// size that of the largest virtual size with as many vCPUs.
func normalizationSizeFactor(t catalog.Type) string {
	fixed := map[string]float64{"nano": 0.25, "micro": 0.5, "small": 1, "medium": 2, "large": 4, "xlarge": 8}
	if f, ok := fixed[t.Size]; ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	if n, ok := strings.CutSuffix(t.Size, "xlarge"); ok {
		if k, err := strconv.Atoi(n); err == nil {
			return strconv.Itoa(8 * k)
		}
	}
	if strings.HasPrefix(t.Size, "metal") {
		return strconv.Itoa(2 * t.VCPU)
	}
	return "NA"
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}
