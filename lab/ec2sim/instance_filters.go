package ec2sim

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// instanceFilterField names the DescribeInstances filters the simulator understands.
func instanceFilterField(name string) (filterField[*record], bool) {
	if key, ok := strings.CutPrefix(name, "tag:"); ok {
		return func(r *record) []string {
			if v, ok := r.Tags[key]; ok {
				return []string{v}
			}
			return nil
		}, true
	}
	one := func(get func(*record) string) filterField[*record] {
		return func(r *record) []string { return []string{get(r)} }
	}
	switch name {
	case "instance-id":
		return one(func(r *record) string { return r.ID }), true
	case "instance-type":
		return one(func(r *record) string { return r.Type }), true
	case "availability-zone":
		return one(func(r *record) string { return r.Zone }), true
	case "subnet-id":
		return one(func(r *record) string { return r.SubnetID }), true
	case "instance-state-name":
		return one(func(r *record) string { return r.State }), true
	case "instance-state-code":
		return one(func(r *record) string { return strconv.Itoa(stateCode(r.State)) }), true
	case "private-dns-name":
		return one(func(r *record) string { return r.PrivateDNSName }), true
	case "private-ip-address":
		return one(func(r *record) string { return r.PrivateIP }), true
	case "instance-lifecycle":
		// On-demand instances carry no lifecycle, so only "spot" can match.
		return func(r *record) []string {
			if r.CapacityType == CapacitySpot {
				return []string{CapacitySpot}
			}
			return nil
		}, true
	case "tag-key":
		return func(r *record) []string { return slices.Sorted(maps.Keys(r.Tags)) }, true
	case "tag-value":
		return func(r *record) []string {
			var values []string
			for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
				values = append(values, r.Tags[k])
			}
			return values
		}, true
	}
	return nil, false
}
