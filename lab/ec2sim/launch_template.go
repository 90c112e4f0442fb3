package ec2sim

import (
	"cmp"
	"encoding/base64"
	"slices"
	"time"
)

// launchTemplate is one launch template. The simulator keeps only the version CreateLaunchTemplate
// made (it has no CreateLaunchTemplateVersion), so its default and latest version are both 1.
type launchTemplate struct {
	id, name    string
	seq         int // creation order, the DescribeLaunchTemplates page cursor
	created     time.Time
	description string // VersionDescription, kept though nothing shows it yet
	tags        map[string]string
	data        launchTemplateData
}

// launchTemplateData is LaunchTemplateData as sent. Launches read the image, type, user data,
// groups, profile, metadata options and instance tags; the rest is kept so a later
// DescribeLaunchTemplateVersions can show it.
type launchTemplateData struct {
	imageID           string
	instanceType      string
	userData          string // base64 as sent, checked when the template is created
	securityGroupIDs  []string
	profile           instanceProfileSpec
	metadata          metadataOptions
	monitoring        *bool
	blockDevices      []blockDevice
	networkInterfaces []networkInterface
	tagsByResource    map[string]map[string]string // TagSpecification: resource type → tags
}

type instanceProfileSpec struct{ name, arn string }

// given is the profile as the template names it: its ARN when it has one, else its name.
func (p instanceProfileSpec) given() string { return cmp.Or(p.arn, p.name) }

type metadataOptions struct {
	httpTokens       string // required or optional; "" when not set
	hopLimit         int    // 1..64; 0 when not set
	httpEndpoint     string
	httpProtocolIPv6 string
}

func (m metadataOptions) set() bool { return m != metadataOptions{} }

type blockDevice struct {
	deviceName string
	ebs        ebsVolume
}

type ebsVolume struct {
	volumeSize, iops, throughput     int // 0 when not set
	volumeType, kmsKeyID, snapshotID string
	encrypted, deleteOnTermination   *bool
}

// launchVolumes are the volumes an instance launched from image gets, as EC2 builds them: the
// image's block device mappings, then each later list of mappings (the template's, the fleet
// override's) replacing the size of a device it gives one for and adding devices the image
// lacks.
func launchVolumes(image []Volume, mappings ...[]blockDevice) []Volume {
	out := slices.Clone(image)
	for _, list := range mappings {
		for _, bd := range list {
			at := slices.IndexFunc(out, func(v Volume) bool { return v.DeviceName == bd.deviceName })
			if at < 0 {
				out = append(out, Volume{DeviceName: bd.deviceName, SizeGiB: bd.ebs.volumeSize})
				continue
			}
			if bd.ebs.volumeSize > 0 {
				out[at].SizeGiB = bd.ebs.volumeSize
			}
		}
	}
	return out
}

type networkInterface struct {
	deviceIndex       int
	associatePublicIP *bool
	groups            []string
}

// instanceGroups are the groups an instance from this template joins: the template's own, or
// else those of its primary network interface (device index 0).
func (d launchTemplateData) instanceGroups() []string {
	if len(d.securityGroupIDs) > 0 {
		return d.securityGroupIDs
	}
	for _, ni := range d.networkInterfaces {
		if ni.deviceIndex == 0 {
			return ni.groups
		}
	}
	return nil
}

// decodedUserData is what the instance sees; the base64 was checked when the template was made.
func (d launchTemplateData) decodedUserData() string {
	raw, _ := base64.StdEncoding.DecodeString(d.userData)
	return string(raw)
}

// templateStore holds the region's launch templates. It is guarded by Sim.mu.
type templateStore struct {
	all     []*launchTemplate // creation order
	made    int               // templates ever created, numbering seq
	byToken map[string]templateReplay
}

// templateReplay is what a CreateLaunchTemplate client token remembers.
type templateReplay struct {
	fingerprint string
	template    launchTemplateXML
}

func (ts *templateStore) add(t *launchTemplate) {
	ts.made++
	t.seq = ts.made
	ts.all = append(ts.all, t)
}

func (ts *templateStore) remove(t *launchTemplate) {
	ts.all = slices.DeleteFunc(ts.all, func(x *launchTemplate) bool { return x == t })
}

func (ts *templateStore) byName(name string) (*launchTemplate, bool) {
	i := slices.IndexFunc(ts.all, func(t *launchTemplate) bool { return t.name == name })
	if i < 0 {
		return nil, false
	}
	return ts.all[i], true
}

func (ts *templateStore) byID(id string) (*launchTemplate, bool) {
	i := slices.IndexFunc(ts.all, func(t *launchTemplate) bool { return t.id == id })
	if i < 0 {
		return nil, false
	}
	return ts.all[i], true
}

// find resolves a template named by id or by name, refusing an unknown one as EC2 does.
func (ts *templateStore) find(id, name string) (*launchTemplate, *apiError) {
	if id != "" {
		if t, ok := ts.byID(id); ok {
			return t, nil
		}
		return nil, templateIDNotFound(id)
	}
	if t, ok := ts.byName(name); ok {
		return t, nil
	}
	return nil, templateNameNotFound()
}

func templateIDNotFound(id string) *apiError {
	return newAPIError(CodeInvalidLaunchTemplateIDNotFound, "The specified launch template, with template ID %s, does not exist.", id)
}

func templateNameNotFound() *apiError {
	return newAPIError(CodeInvalidLaunchTemplateNameNotFound, "At least one of the launch templates specified in the request does not exist.")
}

// checkVersion accepts the one version a template has, by number or by alias; empty means
// $Default, as in EC2.
func (t *launchTemplate) checkVersion(version string) *apiError {
	switch version {
	case "", "$Latest", "$Default", "1":
		return nil
	}
	return newAPIError(CodeInvalidLaunchTemplateIDVersionNotFound,
		"Could not find launch template version %s for launch template ID %s.", version, t.id)
}
