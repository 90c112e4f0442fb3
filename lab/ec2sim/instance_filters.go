package ec2sim

import "strconv"

// instanceFilterField names the DescribeInstances filters the simulator understands.
func instanceFilterField(name string) (filterField[*record], bool) {
	if f, ok := tagFilterField(name, func(r *record) map[string]string { return r.Tags }); ok {
		return f, true
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
	case "image-id":
		return one(func(r *record) string { return r.ImageID }), true
	case "instance.group-id":
		return func(r *record) []string { return r.SecurityGroupIDs }, true
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
	}
	return nil, false
}
