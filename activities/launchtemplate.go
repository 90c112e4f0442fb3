package activities

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nodewright/nodewright/activities/bootstrap"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// LaunchTemplatePrefix starts the name of every launch template Nodewright creates; the rest
// is a hash of the template's contents, so equal contents share one template.
const LaunchTemplatePrefix = "nodewright/"

// TagNodeClass names, on a launch template, the EC2NodeClass it was made for.
const TagNodeClass = "nodewright.io/ec2nodeclass"

// TagEKSClusterName is the tag AWS's managed policies condition on.
const TagEKSClusterName = "eks:eks-cluster-name"

// templateKnownFor is how long a launch template seen to exist is trusted without looking
// again; a template deleted sooner is found by CreateFleet's NotFound.
const templateKnownFor = time.Hour

// launchTemplate is one launch template a launch needs.
type launchTemplate struct {
	name string
	ami  string
	data ec2types.RequestLaunchTemplateData
	tags map[string]string
}

// templateInput is what decides a launch template's contents.
type templateInput struct {
	class        *awsv1.EC2NodeClass
	ami          awsv1.AMI
	family       string
	labels       map[string]string
	taints       []corev1.Taint
	pool         string
	capacityType string
}

// newLaunchTemplate builds the template for one AMI of the class: its user data, volumes,
// metadata options, security groups and instance profile. Its name hashes all of these.
func (e *EC2) newLaunchTemplate(cluster bootstrap.Cluster, in templateInput) (launchTemplate, error) {
	spec := in.class.Spec
	userData, err := bootstrap.UserData(in.family, cluster, bootstrap.Node{
		Labels: in.labels, Taints: in.taints, Kubelet: spec.Kubelet,
	}, spec.UserData)
	if err == nil && len(userData) > bootstrap.MaxUserData {
		err = fmt.Errorf("%d bytes with the pool's labels and taints, over EC2's limit of %d", len(userData), bootstrap.MaxUserData)
	}
	if err != nil {
		return launchTemplate{}, fmt.Errorf("EC2NodeClass %s: user data: %w", in.class.Name, err)
	}
	groups := make([]string, 0, len(in.class.Status.SecurityGroups))
	for _, g := range in.class.Status.SecurityGroups {
		groups = append(groups, g.ID)
	}
	slices.Sort(groups)
	data := ec2types.RequestLaunchTemplateData{
		ImageId:             aws.String(in.ami.ID),
		UserData:            aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
		MetadataOptions:     metadataOptions(spec.MetadataOptions),
		BlockDeviceMappings: blockDevices(spec.BlockDeviceMappings, in.family),
		Monitoring:          &ec2types.LaunchTemplatesMonitoringRequest{Enabled: aws.Bool(aws.ToBool(spec.DetailedMonitoring))},
	}
	if p := in.class.Status.InstanceProfile; p != "" {
		data.IamInstanceProfile = &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String(p)}
	}
	if spec.AssociatePublicIPAddress != nil {
		// EC2 takes the groups on the interface when the interface is given.
		data.NetworkInterfaces = []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
			DeviceIndex: aws.Int32(0), AssociatePublicIpAddress: spec.AssociatePublicIPAddress, Groups: groups,
		}}
	} else {
		data.SecurityGroupIds = groups
	}
	tags := e.ownedTags(in.class)
	data.TagSpecifications = createdTags(tags, in.pool, in.capacityType)
	sum := sha256.New()
	for _, part := range []any{data, tags} {
		raw, err := json.Marshal(part)
		if err != nil {
			return launchTemplate{}, fmt.Errorf("hash launch template: %w", err)
		}
		sum.Write(raw)
	}
	return launchTemplate{name: LaunchTemplatePrefix + hex.EncodeToString(sum.Sum(nil))[:20], ami: in.ami.ID, data: data, tags: tags}, nil
}

// ownedTags are the tags of everything Nodewright creates for the class: the cluster's
// ownership tag, EKS's cluster name, the class, and the class's own tags.
func (e *EC2) ownedTags(class *awsv1.EC2NodeClass) map[string]string {
	tags := maps.Clone(class.Spec.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[ClusterTagKey(e.ClusterName)] = "owned"
	tags[TagEKSClusterName] = e.ClusterName
	tags[TagNodeClass] = class.Name
	return tags
}

// createdTags tag what the launch creates that CreateFleet's own tags do not reach: the
// network interfaces, and the spot request of a spot launch (EC2 refuses those tags on an
// on-demand one). The controller's IAM policy lets a launch create only what carries the
// cluster's tag and a pool.
func createdTags(owned map[string]string, pool, capacityType string) []ec2types.LaunchTemplateTagSpecificationRequest {
	tags := maps.Clone(owned)
	tags[TagNodePool] = pool
	specs := []ec2types.LaunchTemplateTagSpecificationRequest{{ResourceType: ec2types.ResourceTypeNetworkInterface, Tags: ec2Tags(tags)}}
	if capacityType == v1.CapacityTypeSpot {
		specs = append(specs, ec2types.LaunchTemplateTagSpecificationRequest{ResourceType: ec2types.ResourceTypeSpotInstancesRequest, Tags: ec2Tags(tags)})
	}
	return specs
}

// metadataOptions defaults to IMDSv2 only, reachable from the node but not from its pods
// (a hop limit of 1), as Karpenter does.
func metadataOptions(m *awsv1.MetadataOptions) *ec2types.LaunchTemplateInstanceMetadataOptionsRequest {
	out := &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{
		HttpEndpoint:            ec2types.LaunchTemplateInstanceMetadataEndpointStateEnabled,
		HttpProtocolIpv6:        ec2types.LaunchTemplateInstanceMetadataProtocolIpv6Disabled,
		HttpPutResponseHopLimit: aws.Int32(1),
		HttpTokens:              ec2types.LaunchTemplateHttpTokensStateRequired,
	}
	if m == nil {
		return out
	}
	if m.HTTPEndpoint != nil {
		out.HttpEndpoint = ec2types.LaunchTemplateInstanceMetadataEndpointState(*m.HTTPEndpoint)
	}
	if m.HTTPProtocolIPv6 != nil {
		out.HttpProtocolIpv6 = ec2types.LaunchTemplateInstanceMetadataProtocolIpv6(*m.HTTPProtocolIPv6)
	}
	if m.HTTPPutResponseHopLimit != nil {
		out.HttpPutResponseHopLimit = aws.Int32(int32(*m.HTTPPutResponseHopLimit))
	}
	if m.HTTPTokens != nil {
		out.HttpTokens = ec2types.LaunchTemplateHttpTokensState(*m.HTTPTokens)
	}
	return out
}

// blockDevices are the class's volumes, or the family's default root volume: 20 GiB gp3,
// encrypted, for AL2023; a 4 GiB OS volume and a 20 GiB data volume for Bottlerocket.
func blockDevices(mappings []*awsv1.BlockDeviceMapping, family string) []ec2types.LaunchTemplateBlockDeviceMappingRequest {
	if len(mappings) == 0 {
		gib := func(n int64) *resource.Quantity { q := resource.MustParse(fmt.Sprintf("%dGi", n)); return &q }
		gp3 := func(size *resource.Quantity) *awsv1.BlockDevice {
			return &awsv1.BlockDevice{VolumeSize: size, VolumeType: aws.String("gp3"), Encrypted: aws.Bool(true)}
		}
		mappings = []*awsv1.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), EBS: gp3(gib(20)), RootVolume: true}}
		if family == bootstrap.FamilyBottlerocket {
			mappings = []*awsv1.BlockDeviceMapping{
				{DeviceName: aws.String("/dev/xvda"), EBS: gp3(gib(4))},
				{DeviceName: aws.String("/dev/xvdb"), EBS: gp3(gib(20)), RootVolume: true},
			}
		}
	}
	out := make([]ec2types.LaunchTemplateBlockDeviceMappingRequest, 0, len(mappings))
	for _, m := range mappings {
		if m == nil {
			continue
		}
		bd := ec2types.LaunchTemplateBlockDeviceMappingRequest{DeviceName: m.DeviceName}
		if ebs := m.EBS; ebs != nil {
			bd.Ebs = &ec2types.LaunchTemplateEbsBlockDeviceRequest{
				DeleteOnTermination: cmpBool(ebs.DeleteOnTermination, true), Encrypted: ebs.Encrypted,
				KmsKeyId: ebs.KMSKeyID, SnapshotId: ebs.SnapshotID, VolumeType: ec2types.VolumeType(aws.ToString(ebs.VolumeType)),
			}
			if ebs.IOPS != nil {
				bd.Ebs.Iops = aws.Int32(int32(*ebs.IOPS))
			}
			if ebs.Throughput != nil {
				bd.Ebs.Throughput = aws.Int32(int32(*ebs.Throughput))
			}
			if ebs.VolumeSize != nil {
				// EBS sizes are GiB; round up so that a size in G is never short.
				bd.Ebs.VolumeSize = aws.Int32(int32((ebs.VolumeSize.Value() + 1<<30 - 1) >> 30))
			}
		}
		out = append(out, bd)
	}
	return out
}

func cmpBool(b *bool, fallback bool) *bool {
	if b == nil {
		return aws.Bool(fallback)
	}
	return b
}

// ensureTemplate makes sure the launch template exists: looked up once an hour at most,
// created when missing. Creating one that another worker just created is not an error.
func (e *EC2) ensureTemplate(ctx context.Context, lt launchTemplate) error {
	now := time.Now()
	e.templatesMu.Lock()
	seen, ok := e.templates[lt.name]
	if ok {
		seen.used = now
		e.templates[lt.name] = seen
	}
	e.templatesMu.Unlock()
	if ok && now.Sub(seen.verified) < templateKnownFor {
		return nil
	}
	_, err := e.API.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{lt.name}})
	switch {
	case isLaunchTemplateNotFound(err):
		if err := e.createTemplate(ctx, lt); err != nil {
			return err
		}
	case err != nil:
		return classifyAPIError("describe launch template "+lt.name, err)
	}
	e.templatesMu.Lock()
	if e.templates == nil {
		e.templates = map[string]templateSeen{}
	}
	e.templates[lt.name] = templateSeen{verified: now, used: now}
	e.templatesMu.Unlock()
	return nil
}

// templateSeen is what a worker knows of a launch template: when it last saw it exist, and
// when a launch last used it.
type templateSeen struct{ verified, used time.Time }

func (e *EC2) createTemplate(ctx context.Context, lt launchTemplate) error {
	_, err := e.API.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(lt.name),
		LaunchTemplateData: &lt.data,
		TagSpecifications:  []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: ec2Tags(lt.tags)}},
	})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidLaunchTemplateName.AlreadyExistsException" {
		return nil
	}
	if errors.As(err, &apiErr) && (apiErr.ErrorCode() == "InvalidParameterValue" || apiErr.ErrorCode() == "InvalidUserData.Malformed") {
		// EC2 will refuse this template however often it is asked.
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("create launch template %s: %v", lt.name, err), ErrTypeInvalidLaunch, err)
	}
	if err != nil {
		return classifyAPIError("create launch template "+lt.name, err)
	}
	return nil
}

// forgetTemplates drops what is known of the templates, so the next launch looks again.
func (e *EC2) forgetTemplates(names []string) {
	e.templatesMu.Lock()
	defer e.templatesMu.Unlock()
	for _, n := range names {
		delete(e.templates, n)
	}
}

func isLaunchTemplateNotFound(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return isLaunchTemplateNotFoundCode(apiErr.ErrorCode())
}

func isLaunchTemplateNotFoundCode(code string) bool {
	switch code {
	case "InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateId.VersionNotFound":
		return true
	}
	return false
}

// ec2Tags turns a map into EC2 tags, sorted by key.
func ec2Tags(tags map[string]string) []ec2types.Tag {
	out := make([]ec2types.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

// templateUnusedFor is how long a launch template may go unused before it is deleted: every
// change to a class or pool makes new templates, and the old ones would pile up (EC2 allows
// 5,000 per region).
const templateUnusedFor = time.Hour

// CollectLaunchTemplates deletes this cluster's launch templates that no launch of this
// worker has used for templateUnusedFor. A template first seen here counts as used now, so a
// restarted worker waits before deleting what its predecessor used. One deleted while
// another worker still uses it is made again by that worker's next launch.
func (e *EC2) CollectLaunchTemplates(ctx context.Context) (deleted []string, err error) {
	now := time.Now()
	var stale []string
	err = e.eachTemplate(ctx, "", func(name string) {
		e.templatesMu.Lock()
		defer e.templatesMu.Unlock()
		if e.templates == nil {
			e.templates = map[string]templateSeen{}
		}
		switch seen, ok := e.templates[name]; {
		case !ok:
			e.templates[name] = templateSeen{used: now} // not verified: the next launch looks
		case now.Sub(seen.used) >= templateUnusedFor:
			stale = append(stale, name)
		}
	})
	if err != nil {
		return nil, err
	}
	for _, name := range stale {
		if err := e.deleteTemplate(ctx, name); err != nil {
			return deleted, err
		}
		deleted = append(deleted, name)
	}
	return deleted, nil
}

// DeleteLaunchTemplates deletes every launch template made for the class, which is going.
func (e *EC2) DeleteLaunchTemplates(ctx context.Context, class string) error {
	var names []string
	if err := e.eachTemplate(ctx, class, func(name string) { names = append(names, name) }); err != nil {
		return err
	}
	for _, name := range names {
		if err := e.deleteTemplate(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// eachTemplate lists this cluster's launch templates (of one class, if named): those tagged
// as Nodewright tags what it makes, and named as it names them.
func (e *EC2) eachTemplate(ctx context.Context, class string, f func(name string)) error {
	filters := []ec2types.Filter{
		{Name: aws.String("tag:" + ClusterTagKey(e.ClusterName)), Values: []string{"owned"}},
		{Name: aws.String("tag-key"), Values: []string{TagNodeClass}},
	}
	if class != "" {
		filters = append(filters, ec2types.Filter{Name: aws.String("tag:" + TagNodeClass), Values: []string{class}})
	}
	pages := ec2.NewDescribeLaunchTemplatesPaginator(e.API, &ec2.DescribeLaunchTemplatesInput{Filters: filters})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return classifyAPIError("list launch templates", err)
		}
		for _, lt := range page.LaunchTemplates {
			if name := aws.ToString(lt.LaunchTemplateName); strings.HasPrefix(name, LaunchTemplatePrefix) {
				f(name)
			}
		}
	}
	return nil
}

func (e *EC2) deleteTemplate(ctx context.Context, name string) error {
	_, err := e.API.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String(name)})
	if err != nil && !isLaunchTemplateNotFound(err) {
		return classifyAPIError("delete launch template "+name, err)
	}
	e.forgetTemplates([]string{name})
	return nil
}
