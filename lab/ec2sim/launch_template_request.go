package ec2sim

import (
	"encoding/base64"
	"maps"
	"regexp"
	"slices"
)

// launchTemplateNamePattern is the character set EC2 allows in a launch template name.
var launchTemplateNamePattern = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]+$`)

// maxUserDataBytes is EC2's limit on user data before base64 encoding.
const maxUserDataBytes = 16384

// launchTemplateRequest is a parsed CreateLaunchTemplate call.
type launchTemplateRequest struct {
	name, description string
	clientToken       string
	fingerprint       string // the parameters minus ClientToken, for idempotency checks
	tags              map[string]string
	data              launchTemplateData
}

// parseLaunchTemplateRequest refuses what CreateLaunchTemplate refuses before anything is stored.
func (s *Sim) parseLaunchTemplateRequest(p params) (launchTemplateRequest, *apiError) {
	req := launchTemplateRequest{
		name:        p.str("LaunchTemplateName"),
		description: p.str("VersionDescription"),
		clientToken: p.str("ClientToken"),
		fingerprint: p.fingerprint("ClientToken"),
	}
	if err := checkLaunchTemplateName(req.name); err != nil {
		return req, err
	}
	tags, err := taggedAs(p, "TagSpecification", "launch-template")
	if err != nil {
		return req, err
	}
	req.tags = tags["launch-template"]
	req.data, err = s.parseLaunchTemplateData(p, "LaunchTemplateData.")
	return req, err
}

func checkLaunchTemplateName(name string) *apiError {
	if name == "" {
		return missingParameter("LaunchTemplateName")
	}
	if len(name) < 3 || len(name) > 128 || !launchTemplateNamePattern.MatchString(name) {
		return newAPIError(CodeInvalidLaunchTemplateNameMalformed,
			"A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.")
	}
	return nil
}

// parseLaunchTemplateData reads LaunchTemplateData.*; prefix ends with a dot.
func (s *Sim) parseLaunchTemplateData(p params, prefix string) (launchTemplateData, *apiError) {
	d := launchTemplateData{
		imageID:          p.str(prefix + "ImageId"),
		instanceType:     p.str(prefix + "InstanceType"),
		userData:         p.str(prefix + "UserData"),
		securityGroupIDs: p.strings(prefix + "SecurityGroupId"),
		profile:          instanceProfileSpec{name: p.str(prefix + "IamInstanceProfile.Name"), arn: p.str(prefix + "IamInstanceProfile.Arn")},
	}
	if err := checkUserData(d.userData); err != nil {
		return d, err
	}
	var err *apiError
	if d.metadata, err = parseMetadataOptions(p, prefix+"MetadataOptions."); err != nil {
		return d, err
	}
	if d.monitoring, err = p.boolean(prefix + "Monitoring.Enabled"); err != nil {
		return d, err
	}
	if d.blockDevices, err = parseBlockDevices(p, prefix+"BlockDeviceMapping"); err != nil {
		return d, err
	}
	if d.networkInterfaces, err = parseNetworkInterfaces(p, prefix+"NetworkInterface"); err != nil {
		return d, err
	}
	// EC2 lets a template tag what its launches create, not the template itself.
	if d.tagsByResource, err = taggedAs(p, prefix+"TagSpecification", "instance", "volume", "network-interface", "spot-instances-request"); err != nil {
		return d, err
	}
	groups := d.securityGroupIDs
	for _, ni := range d.networkInterfaces {
		groups = append(groups, ni.groups...)
	}
	return d, s.checkGroupsExist(groups)
}

// checkUserData refuses what EC2 cannot decode or will not hold.
func checkUserData(encoded string) *apiError {
	if encoded == "" {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return newAPIError(CodeInvalidUserDataMalformed, "Invalid BASE64 encoding of user data.")
	}
	if len(raw) > maxUserDataBytes {
		return invalidParameterValue("User data is limited to %d bytes", maxUserDataBytes)
	}
	return nil
}

func parseMetadataOptions(p params, prefix string) (metadataOptions, *apiError) {
	m := metadataOptions{
		httpTokens:       p.str(prefix + "HttpTokens"),
		httpEndpoint:     p.str(prefix + "HttpEndpoint"),
		httpProtocolIPv6: p.str(prefix + "HttpProtocolIpv6"),
	}
	hops, present, err := p.integer(prefix + "HttpPutResponseHopLimit")
	if err != nil {
		return m, err
	}
	if present && (hops < 1 || hops > 64) {
		return m, invalidParameterValue("The HttpPutResponseHopLimit value %d is not valid. It must be between 1 and 64.", hops)
	}
	m.hopLimit = hops
	for _, field := range []struct{ name, value, a, b string }{
		{"HttpTokens", m.httpTokens, "required", "optional"},
		{"HttpEndpoint", m.httpEndpoint, "enabled", "disabled"},
		{"HttpProtocolIpv6", m.httpProtocolIPv6, "enabled", "disabled"},
	} {
		if field.value != "" && field.value != field.a && field.value != field.b {
			return m, invalidParameterValue("The value '%s' is not valid for the %s parameter. Use '%s' or '%s'.", field.value, field.name, field.a, field.b)
		}
	}
	return m, nil
}

func parseBlockDevices(p params, prefix string) ([]blockDevice, *apiError) {
	var out []blockDevice
	for _, m := range p.members(prefix) {
		bd := blockDevice{deviceName: p.str(m + ".DeviceName")}
		ebs := m + ".Ebs."
		bd.ebs.volumeType, bd.ebs.kmsKeyID, bd.ebs.snapshotID = p.str(ebs+"VolumeType"), p.str(ebs+"KmsKeyId"), p.str(ebs+"SnapshotId")
		for _, field := range []struct {
			key  string
			into *int
		}{{"VolumeSize", &bd.ebs.volumeSize}, {"Iops", &bd.ebs.iops}, {"Throughput", &bd.ebs.throughput}} {
			n, _, err := p.integer(ebs + field.key)
			if err != nil {
				return nil, err
			}
			*field.into = n
		}
		var err *apiError
		if bd.ebs.encrypted, err = p.boolean(ebs + "Encrypted"); err != nil {
			return nil, err
		}
		if bd.ebs.deleteOnTermination, err = p.boolean(ebs + "DeleteOnTermination"); err != nil {
			return nil, err
		}
		out = append(out, bd)
	}
	return out, nil
}

// parseNetworkInterfaces reads NetworkInterface.N; the SDK sends an interface's groups as
// SecurityGroupId.M (the Groups member of the API).
func parseNetworkInterfaces(p params, prefix string) ([]networkInterface, *apiError) {
	var out []networkInterface
	for _, m := range p.members(prefix) {
		index, _, err := p.integer(m + ".DeviceIndex")
		if err != nil {
			return nil, err
		}
		public, err := p.boolean(m + ".AssociatePublicIpAddress")
		if err != nil {
			return nil, err
		}
		out = append(out, networkInterface{deviceIndex: index, associatePublicIP: public, groups: p.strings(m + ".SecurityGroupId")})
	}
	return out, nil
}

// taggedAs reads a TagSpecification list whose resource types must be among allowed, returning
// the tags per resource type.
func taggedAs(p params, prefix string, allowed ...string) (map[string]map[string]string, *apiError) {
	out := map[string]map[string]string{}
	for _, spec := range p.members(prefix) {
		resourceType := p.str(spec + ".ResourceType")
		if !slices.Contains(allowed, resourceType) {
			return nil, invalidParameterValue("'%s' is not a valid taggable resource type for this operation.", resourceType)
		}
		if out[resourceType] == nil {
			out[resourceType] = map[string]string{}
		}
		maps.Copy(out[resourceType], p.tags(spec))
	}
	return out, nil
}
