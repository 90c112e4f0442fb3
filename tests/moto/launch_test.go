package moto

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"go.temporal.io/sdk/testsuite"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/activities/bootstrap"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// What moto does not do, and the lab simulator test that covers it instead:
//   - CreateFleet ignores ClientToken: a Launch retried with the same token launches a second
//     instance where EC2 answers with the first (TestCreateFleetClientTokenIsIdempotent).
//   - CreateFleet launches an AMI on any instance type: the arm64 image on m6a.large runs, as
//     an arm64 instance (TestCreateFleetChecksImagesAgainstTheRegistry).
//   - CreateFleet takes the first override, not the cheapest: every override's spot price is
//     unset, which moto sorts as +inf, so the first template's first type and zone win; EC2
//     would pick m7g.large, the cheaper (TestCreateFleetLaunchesTheCheapestOverrideWithCapacity).
//   - An instance from a fleet gets the template's image and user data but none of its security
//     groups, instance profile, metadata options or volumes: moto's Fleet reads "GroupSet", a
//     key launch template data never has, and passes the rest on to RunInstances not at all, so
//     the instance has no group, no profile, HttpTokens optional and an untagged 8 GiB gp2 root
//     volume (TestCreateFleetLaunchesWhatTheTemplateSays). The template itself is checked here.
//   - TerminateInstances answers shutting-down but the instance is already terminated to
//     DescribeInstances, so Terminate heartbeats once and is done after its first look
//     (TestShutdownDelayKeepsInstancesShuttingDownUntilItEnds).
//   - RegisterImage drops Architecture (DescribeImages then leaves it out), so the test uses
//     two of moto's built-in Amazon images, whose architectures are recorded.

// A node launches through the real path: the EC2NodeClass resolves against moto's EC2, SSM
// and IAM, the worker makes one launch template per AMI and launches with an instant fleet,
// and Terminate ends the instance.
func TestLaunchResolvesTheClassAndLaunchesItsNodeOnMoto(t *testing.T) {
	lab := newLaunchLab(t)
	c := ctx(t)
	class := lab.resolveClass(t)
	worker, calls := lab.worker(class)

	inst, err := worker.Launch(c, lab.launchRequest("default-abc12"))
	if err != nil {
		t.Fatalf("launch claim default-abc12: %v", err)
	}
	if !slices.Contains(launchTypes, inst.Type) || !slices.Contains(launchZones, inst.Zone) || inst.CapacityType != v1.CapacityTypeOnDemand {
		t.Errorf("launched %+v, want an on-demand %v in %v", inst, launchTypes, launchZones)
	}

	fleets := calls.fleets()
	if len(fleets) != 1 || fleets[0].code != "" {
		t.Fatalf("CreateFleet calls %+v, want one that succeeded", fleets)
	}
	// One template per AMI, each given only the types its AMI suits.
	configs := fleets[0].in.LaunchTemplateConfigs
	if len(configs) != 2 {
		t.Fatalf("the fleet names %d launch templates, want 2 (one per architecture)", len(configs))
	}
	for _, config := range configs {
		name := aws.ToString(config.LaunchTemplateSpecification.LaunchTemplateName)
		for _, o := range config.Overrides {
			if want := lab.amiFor(string(o.InstanceType)); lab.templateImage(t, name) != want {
				t.Errorf("template %s serves %s but runs %s, want %s", name, o.InstanceType, lab.templateImage(t, name), want)
			}
		}
	}
	used := launchedTemplate(t, fleets[0].out, inst.ID)
	lab.checkTemplate(t, used, class, lab.amiFor(inst.Type))
	lab.checkInstance(t, inst, "default-abc12")

	// Terminate heartbeats while it waits, which needs an activity context.
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(worker.Terminate)
	terminate := activities.TerminateRequest{InstanceID: inst.ID, WorkflowID: "node/default-abc12", NodeClaim: "default-abc12"}
	if _, err := env.ExecuteActivity(worker.Terminate, terminate); err != nil {
		t.Fatalf("terminate %s: %v", inst.ID, err)
	}
	if state := lab.describe(t, inst.ID).State.Name; state != ec2types.InstanceStateNameTerminated {
		t.Errorf("after Terminate, %s is %s, want terminated", inst.ID, state)
	}
}

// A launch template deleted behind the worker's back, while the worker still trusts it to
// exist, is made again by the next launch, which then succeeds.
func TestLaunchRemakesATemplateDeletedBehindItsBack(t *testing.T) {
	lab := newLaunchLab(t)
	c := ctx(t)
	worker, calls := lab.worker(lab.resolveClass(t))
	first, err := worker.Launch(c, lab.launchRequest("default-first"))
	if err != nil {
		t.Fatalf("launch claim default-first: %v", err)
	}
	deleted := launchedTemplate(t, calls.fleets()[0].out, first.ID)
	if _, err := lab.ec2.DeleteLaunchTemplate(c, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String(deleted)}); err != nil {
		t.Fatalf("delete launch template %s: %v", deleted, err)
	}
	calls.clear()

	second, err := worker.Launch(c, lab.launchRequest("default-second"))
	if err != nil {
		t.Fatalf("launch claim default-second after %s was deleted: %v", deleted, err)
	}
	// moto refuses the whole CreateFleet call with a top-level InvalidLaunchTemplateName.NotFoundException
	// ("The specified launch template, with template name …, does not exist."), as the lab
	// simulator and activities' fake EC2 do; none of the three reports a missing template in
	// the fleet's error set, so Launch's handling of that form (fleetMissedTemplate) is not
	// exercised here or there.
	fleets := calls.fleets()
	if len(fleets) != 2 || fleets[0].code != "InvalidLaunchTemplateName.NotFoundException" || fleets[1].code != "" {
		t.Errorf("CreateFleet calls answered %v, want InvalidLaunchTemplateName.NotFoundException then success", fleetCodes(fleets))
	}
	if made := calls.created(); !slices.Equal(made, []string{deleted}) {
		t.Errorf("launch templates created %v, want only %s again", made, deleted)
	}
	if got, want := lab.templateImage(t, deleted), lab.amiFor(first.Type); got != want {
		t.Errorf("the remade template %s runs %s, want %s", deleted, got, want)
	}
	lab.checkInstance(t, second, "default-second")
}

// launchTypes and launchZones are what every claim of these tests allows: one amd64 and one
// arm64 type, two of the three zones.
var (
	launchTypes = []string{"m6a.large", "m7g.large"}
	launchZones = []string{"us-east-1a", "us-east-1b"}
)

const (
	launchClusterName = "lab"
	launchNodeRole    = "NodewrightNodeRole-lab"
	launchClassName   = "default"
	launchDiscovery   = "karpenter.sh/discovery"
	// launchParameterMirror is where the test seeds AWS's public parameters: moto, like SSM,
	// refuses PutParameter under /aws/ ("No access to reserved parameter name"), and ships
	// no /aws/service/eks parameters of its own.
	launchParameterMirror = "/moto-mirror"
)

// launchLab is the AWS account the launch tests seed in moto.
type launchLab struct {
	ec2     *ec2.Client
	ssm     *ssm.Client
	iam     *iam.Client
	eks     *eks.Client
	subnets map[string]string // zone → subnet id
	group   string
	amis    map[string]string // architecture label (amd64, arm64) → AMI id
	cluster bootstrap.Cluster
	version string
	labels  map[string]map[string]string // instance type → its catalog labels
}

// newLaunchLab seeds moto with what a cluster's nodes need: a VPC with a tagged subnet in
// each of three zones and a tagged security group, the EKS AMI parameters, the nodes' role
// and the EKS cluster.
func newLaunchLab(t *testing.T) *launchLab {
	t.Helper()
	lab := &launchLab{ec2: ec2Client(t), subnets: map[string]string{}, amis: map[string]string{}}
	reset(t)
	cfg := motoConfig(t, "us-east-1")
	lab.ssm, lab.iam, lab.eks = ssm.NewFromConfig(cfg), iam.NewFromConfig(cfg), eks.NewFromConfig(cfg)
	c := ctx(t)
	discovery := map[string]string{launchDiscovery: launchClusterName}

	vpc, err := lab.ec2.CreateVpc(c, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("create vpc: %v", err)
	}
	for i, zone := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		out, err := lab.ec2.CreateSubnet(c, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, AvailabilityZone: aws.String(zone),
			CidrBlock:         aws.String(fmt.Sprintf("10.0.%d.0/24", i)),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSubnet, Tags: tagList(discovery)}}})
		if err != nil {
			t.Fatalf("create subnet in %s: %v", zone, err)
		}
		lab.subnets[zone] = aws.ToString(out.Subnet.SubnetId)
	}
	sg, err := lab.ec2.CreateSecurityGroup(c, &ec2.CreateSecurityGroupInput{GroupName: aws.String("lab-nodes"), Description: aws.String("nodes"),
		VpcId: vpc.Vpc.VpcId, TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: tagList(discovery)}}})
	if err != nil {
		t.Fatalf("create security group: %v", err)
	}
	lab.group = aws.ToString(sg.GroupId)

	lab.seedCluster(t)
	lab.seedImages(t)
	if _, err := lab.iam.CreateRole(c, &iam.CreateRoleInput{RoleName: aws.String(launchNodeRole), AssumeRolePolicyDocument: aws.String(roleTrusting("ec2.amazonaws.com"))}); err != nil {
		t.Fatalf("create role %s: %v", launchNodeRole, err)
	}

	types, err := catalog.Load()
	if err != nil {
		t.Fatalf("load the instance type catalog: %v", err)
	}
	lab.labels = map[string]map[string]string{}
	for _, it := range catalog.InstanceTypes(types, []string{"us-east-1a", "us-east-1b", "us-east-1c"}) {
		lab.labels[it.Name] = it.Labels
	}
	return lab
}

// seedCluster creates the EKS cluster and reads back what nodes need to join it.
func (lab *launchLab) seedCluster(t *testing.T) {
	t.Helper()
	c := ctx(t)
	role, err := lab.iam.CreateRole(c, &iam.CreateRoleInput{RoleName: aws.String("lab-cluster"), AssumeRolePolicyDocument: aws.String(roleTrusting("eks.amazonaws.com"))})
	if err != nil {
		t.Fatalf("create the cluster's role: %v", err)
	}
	if _, err := lab.eks.CreateCluster(c, &eks.CreateClusterInput{Name: aws.String(launchClusterName), Version: aws.String("1.33"), RoleArn: role.Role.Arn,
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: valuesInOrder(lab.subnets), SecurityGroupIds: []string{lab.group}}}); err != nil {
		t.Fatalf("create EKS cluster %s: %v", launchClusterName, err)
	}
	out, err := lab.eks.DescribeCluster(c, &eks.DescribeClusterInput{Name: aws.String(launchClusterName)})
	if err != nil {
		t.Fatalf("describe EKS cluster %s: %v", launchClusterName, err)
	}
	// moto's endpoint ends in "/" (EKS's does not) and its CA data is 1,400 random letters and
	// digits: base64, but not of a PEM certificate. Neither matters to the user data.
	lab.cluster = bootstrap.Cluster{Name: launchClusterName, Endpoint: aws.ToString(out.Cluster.Endpoint), ServiceCIDR: "10.100.0.0/16"}
	if out.Cluster.CertificateAuthority != nil {
		lab.cluster.CABundle = aws.ToString(out.Cluster.CertificateAuthority.Data)
	}
	if n := out.Cluster.KubernetesNetworkConfig; n != nil && aws.ToString(n.ServiceIpv4Cidr) != "" {
		lab.cluster.ServiceCIDR = aws.ToString(n.ServiceIpv4Cidr)
	}
	if _, err := base64.StdEncoding.DecodeString(lab.cluster.CABundle); err != nil || !strings.HasPrefix(lab.cluster.Endpoint, "https://") {
		t.Fatalf("EKS describes %s with endpoint %q and CA data that does not decode (%v): nodes could not join", launchClusterName, lab.cluster.Endpoint, err)
	}
	if lab.version = aws.ToString(out.Cluster.Version); lab.version != "1.33" {
		t.Fatalf("EKS describes %s at Kubernetes %q, want the 1.33 it was created with", launchClusterName, lab.version)
	}
}

// seedImages picks an x86_64 and an arm64 Amazon image from moto's built-in ones and
// publishes them as the AL2023 EKS AMIs of Kubernetes 1.33; no nvidia variant is published.
func (lab *launchLab) seedImages(t *testing.T) {
	t.Helper()
	c := ctx(t)
	for arch, label := range map[string]string{"x86_64": "amd64", "arm64": "arm64"} {
		out, err := lab.ec2.DescribeImages(c, &ec2.DescribeImagesInput{Owners: []string{"amazon"}, Filters: []ec2types.Filter{
			{Name: aws.String("name"), Values: []string{"al2023-ami-2023.*-kernel-6.1-" + arch}},
			{Name: aws.String("architecture"), Values: []string{arch}},
		}})
		if err != nil {
			t.Fatalf("describe moto's built-in %s images: %v", arch, err)
		}
		var ids []string
		for _, img := range out.Images {
			ids = append(ids, aws.ToString(img.ImageId))
		}
		if len(ids) == 0 {
			t.Fatalf("moto has no built-in Amazon AL2023 %s image to stand for the EKS AMI", arch)
		}
		lab.amis[label] = slices.Min(ids)
		name := "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/" + arch + "/standard/recommended/image_id"
		_, err = lab.ssm.PutParameter(c, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(lab.amis[label]), Type: ssmtypes.ParameterTypeString})
		if code(err) != "AccessDeniedException" {
			t.Fatalf("moto answered PutParameter %s with %v; SSM refuses names under /aws/ with AccessDeniedException", name, err)
		}
		if _, err := lab.ssm.PutParameter(c, &ssm.PutParameterInput{Name: aws.String(launchParameterMirror + name), Value: aws.String(lab.amis[label]),
			Type: ssmtypes.ParameterTypeString, DataType: aws.String("aws:ec2:image")}); err != nil {
			t.Fatalf("seed parameter %s: %v", launchParameterMirror+name, err)
		}
	}
}

// resolveClass resolves the lab's EC2NodeClass as the node class controller does and
// returns it with its status filled in.
func (lab *launchLab) resolveClass(t *testing.T) *awsv1.EC2NodeClass {
	t.Helper()
	c := ctx(t)
	discovery := map[string]string{launchDiscovery: launchClusterName}
	class := &awsv1.EC2NodeClass{ObjectMeta: metav1.ObjectMeta{Name: launchClassName}, Spec: awsv1.EC2NodeClassSpec{
		SubnetSelectorTerms:        []awsv1.SubnetSelectorTerm{{Tags: discovery}},
		SecurityGroupSelectorTerms: []awsv1.SecurityGroupSelectorTerm{{Tags: discovery}},
		AMISelectorTerms:           []awsv1.AMISelectorTerm{{Alias: "al2023@latest"}},
		Role:                       launchNodeRole,
	}}
	resolver := activities.ClassResolver{
		Network: activities.Network{API: lab.ec2},
		Images: activities.Images{EC2: lab.ec2, SSM: mirroredParameters{api: lab.ssm},
			KubernetesVersion: func(context.Context) (string, error) { return lab.version, nil }},
		Profiles: activities.InstanceProfiles{API: lab.iam, ClusterName: launchClusterName, Region: "us-east-1"},
	}

	subnets, err := resolver.Subnets(c, class.Spec.SubnetSelectorTerms)
	if err != nil || len(subnets) != 3 {
		t.Fatalf("the discovery tag selected subnets %+v (%v), want the 3 lab subnets", subnets, err)
	}
	for _, s := range subnets {
		class.Status.Subnets = append(class.Status.Subnets, awsv1.Subnet{ID: s.ID, Zone: s.Zone, ZoneID: s.ZoneID})
	}
	groups, err := resolver.SecurityGroups(c, class.Spec.SecurityGroupSelectorTerms)
	if err != nil || len(groups) != 1 || groups[0].ID != lab.group {
		t.Fatalf("the discovery tag selected security groups %+v (%v), want only lab-nodes (%s)", groups, err, lab.group)
	}
	class.Status.SecurityGroups = []awsv1.SecurityGroup{{ID: groups[0].ID, Name: groups[0].Name}}
	amis, err := resolver.AMIs(c, class.Spec.AMISelectorTerms)
	if err != nil {
		t.Fatalf("resolve alias al2023@latest: %v", err)
	}
	var ids []string
	for _, a := range amis {
		ids = append(ids, a.ID)
	}
	if want := valuesInOrder(lab.amis); !slices.Equal(sorted(ids...), want) {
		t.Fatalf("alias al2023@latest resolved to %v, want %v: the x86_64 and arm64 AMIs, no nvidia one (unpublished)", ids, want)
	}
	class.Status.AMIs = amis
	if class.Status.InstanceProfile, err = resolver.InstanceProfile(c, class); err != nil {
		t.Fatalf("instance profile: %v", err)
	}
	lab.checkProfile(t, class.Status.InstanceProfile)
	return class
}

// checkProfile asks moto's IAM for the profile Nodewright made: it holds the class's role and
// carries the cluster's tags.
func (lab *launchLab) checkProfile(t *testing.T, name string) {
	t.Helper()
	out, err := lab.iam.GetInstanceProfile(ctx(t), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		t.Fatalf("instance profile %s is not in IAM: %v", name, err)
	}
	p := out.InstanceProfile
	if len(p.Roles) != 1 || aws.ToString(p.Roles[0].RoleName) != launchNodeRole || aws.ToString(p.Path) != "/nodewright/" {
		t.Errorf("instance profile %s at path %s holds %d roles, want only %s at /nodewright/", name, aws.ToString(p.Path), len(p.Roles), launchNodeRole)
	}
	tags := map[string]string{}
	for _, tag := range p.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	for k, v := range map[string]string{"kubernetes.io/cluster/lab": "owned", "eks:eks-cluster-name": "lab",
		activities.TagNodeClass: launchClassName, "topology.kubernetes.io/region": "us-east-1"} {
		if tags[k] != v {
			t.Errorf("instance profile %s has tag %s=%q, want %q", name, k, tags[k], v)
		}
	}
}

// worker is the EC2 activities for the resolved class, with the calls it makes recorded.
func (lab *launchLab) worker(class *awsv1.EC2NodeClass) (*activities.EC2, *recordedEC2) {
	calls := &recordedEC2{Client: lab.ec2}
	return &activities.EC2{API: calls, ClusterName: launchClusterName, Cluster: lab.cluster, Classes: resolvedClasses{class},
		InstanceTypeLabels: func(name string) map[string]string { return lab.labels[name] }}, calls
}

func (lab *launchLab) launchRequest(claim string) activities.LaunchRequest {
	return activities.LaunchRequest{ClientToken: claim + "-launch", WorkflowID: "node/" + claim, Claim: activities.Claim{
		Name: claim, NodePool: "default", InstanceTypes: launchTypes, Zones: launchZones, CapacityTypes: []string{v1.CapacityTypeOnDemand},
		NodeClassRef: &v1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: launchClassName},
	}}
}

// amiFor is the AMI an instance type must run: the one of its architecture.
func (lab *launchLab) amiFor(instanceType string) string {
	return lab.amis[lab.labels[instanceType][v1.LabelArch]]
}

// templateImage is the image of the launch template's latest version.
func (lab *launchLab) templateImage(t *testing.T, name string) string {
	t.Helper()
	return aws.ToString(lab.templateData(t, name).ImageId)
}

func (lab *launchLab) templateData(t *testing.T, name string) *ec2types.ResponseLaunchTemplateData {
	t.Helper()
	out, err := lab.ec2.DescribeLaunchTemplateVersions(ctx(t), &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateName: aws.String(name), Versions: []string{"$Latest"}})
	if err != nil || len(out.LaunchTemplateVersions) != 1 {
		t.Fatalf("launch template %s: versions %+v (%v), want its latest", name, out, err)
	}
	return out.LaunchTemplateVersions[0].LaunchTemplateData
}

// checkTemplate reads the launch template the instance came from: its image, security group,
// instance profile, metadata options, tags and user data.
func (lab *launchLab) checkTemplate(t *testing.T, name string, class *awsv1.EC2NodeClass, wantImage string) {
	t.Helper()
	out, err := lab.ec2.DescribeLaunchTemplates(ctx(t), &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{name}})
	if err != nil || len(out.LaunchTemplates) != 1 {
		t.Fatalf("launch template %s the fleet used: %+v (%v), want it to exist", name, out, err)
	}
	if tags := tagsByKey(out.LaunchTemplates[0].Tags); tags["kubernetes.io/cluster/lab"] != "owned" || tags[activities.TagNodeClass] != launchClassName {
		t.Errorf("launch template %s is tagged %v, want the cluster's ownership and class %s", name, tags, launchClassName)
	}
	data := lab.templateData(t, name)
	if got := aws.ToString(data.ImageId); got != wantImage {
		t.Errorf("launch template %s runs %s, want %s", name, got, wantImage)
	}
	if !slices.Equal(data.SecurityGroupIds, []string{lab.group}) {
		t.Errorf("launch template %s has security groups %v, want [%s]", name, data.SecurityGroupIds, lab.group)
	}
	if data.IamInstanceProfile == nil || aws.ToString(data.IamInstanceProfile.Name) != class.Status.InstanceProfile {
		t.Errorf("launch template %s has instance profile %+v, want %s", name, data.IamInstanceProfile, class.Status.InstanceProfile)
	}
	if m := data.MetadataOptions; m == nil || m.HttpTokens != ec2types.LaunchTemplateHttpTokensStateRequired || aws.ToInt32(m.HttpPutResponseHopLimit) != 1 {
		t.Errorf("launch template %s has metadata options %+v, want tokens required and a hop limit of 1", name, m)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(data.UserData))
	if err != nil {
		t.Fatalf("launch template %s's user data is not base64: %v", name, err)
	}
	got := nodeConfigCluster(t, string(raw))
	if got.Name != launchClusterName || got.APIServerEndpoint != lab.cluster.Endpoint || got.CertificateAuthority != lab.cluster.CABundle || got.CIDR != lab.cluster.ServiceCIDR {
		t.Errorf("launch template %s's NodeConfig names cluster %+v, want %s at %s with its CA and service CIDR %s",
			name, got, launchClusterName, lab.cluster.Endpoint, lab.cluster.ServiceCIDR)
	}
}

// checkInstance reads the launched instance back from moto: running the AMI of its
// architecture, in the subnet of its zone, tagged as Nodewright's and not as Karpenter's.
func (lab *launchLab) checkInstance(t *testing.T, launched activities.Instance, claim string) {
	t.Helper()
	inst := lab.describe(t, launched.ID)
	if got, want := aws.ToString(inst.ImageId), lab.amiFor(launched.Type); got != want {
		t.Errorf("instance %s (%s) runs %s, want %s", launched.ID, launched.Type, got, want)
	}
	if got, want := aws.ToString(inst.SubnetId), lab.subnets[launched.Zone]; got != want || want == "" {
		t.Errorf("instance %s is in subnet %s, want %s, the lab's subnet in %s", launched.ID, got, want, launched.Zone)
	}
	if inst.State == nil || inst.State.Name != ec2types.InstanceStateNameRunning {
		t.Errorf("instance %s is %+v, want running", launched.ID, inst.State)
	}
	tags := tagsByKey(inst.Tags)
	for k, v := range map[string]string{"kubernetes.io/cluster/lab": "owned", v1.LabelNodePool: "default", v1.LabelNodeClaim: claim,
		activities.TagEKSClusterName: launchClusterName, activities.TagWorkflowID: "node/" + claim, "Name": claim} {
		if tags[k] != v {
			t.Errorf("instance %s has tag %s=%q, want %q", launched.ID, k, tags[k], v)
		}
	}
	for _, k := range []string{"karpenter.k8s.aws/ec2nodeclass", activities.TagNodeClass} {
		if v, ok := tags[k]; ok {
			t.Errorf("instance %s has tag %s=%s; a Karpenter in the cluster would take it for its own", launched.ID, k, v)
		}
	}
}

func (lab *launchLab) describe(t *testing.T, id string) ec2types.Instance {
	t.Helper()
	out, err := lab.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("describe instance %s: %+v (%v), want it alone", id, out, err)
	}
	return out.Reservations[0].Instances[0]
}

// launchedTemplate is the launch template the fleet's answer says the instance came from.
func launchedTemplate(t *testing.T, out *ec2.CreateFleetOutput, id string) string {
	t.Helper()
	for _, inst := range out.Instances {
		if slices.Contains(inst.InstanceIds, id) && inst.LaunchTemplateAndOverrides != nil && inst.LaunchTemplateAndOverrides.LaunchTemplateSpecification != nil {
			return aws.ToString(inst.LaunchTemplateAndOverrides.LaunchTemplateSpecification.LaunchTemplateName)
		}
	}
	t.Fatalf("the fleet's answer %+v does not say which launch template instance %s came from", out.Instances, id)
	return ""
}

// nodeConfigCluster finds the NodeConfig part of an AL2023 MIME user data document and
// returns the cluster it names.
func nodeConfigCluster(t *testing.T, userData string) (cluster struct {
	APIServerEndpoint    string `json:"apiServerEndpoint"`
	CertificateAuthority string `json:"certificateAuthority"`
	CIDR                 string `json:"cidr"`
	Name                 string `json:"name"`
}) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(userData))
	if err != nil {
		t.Fatalf("user data is not a MIME document: %v\n%s", err, userData)
	}
	media, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || media != "multipart/mixed" {
		t.Fatalf("user data is %q (%v), want multipart/mixed", media, err)
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := parts.NextPart()
		if err == io.EOF {
			t.Fatalf("user data has no application/node.eks.aws part:\n%s", userData)
		}
		if err != nil {
			t.Fatalf("read user data part: %v", err)
		}
		if part.Header.Get("Content-Type") != "application/node.eks.aws" {
			continue
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("read the NodeConfig part: %v", err)
		}
		var config struct {
			Kind string `json:"kind"`
			Spec struct {
				Cluster struct {
					APIServerEndpoint    string `json:"apiServerEndpoint"`
					CertificateAuthority string `json:"certificateAuthority"`
					CIDR                 string `json:"cidr"`
					Name                 string `json:"name"`
				} `json:"cluster"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(body, &config); err != nil || config.Kind != "NodeConfig" {
			t.Fatalf("the application/node.eks.aws part is not a NodeConfig (%v):\n%s", err, body)
		}
		return config.Spec.Cluster
	}
}

// resolvedClasses is the node class controller's answer for the one class the tests resolve.
type resolvedClasses struct{ class *awsv1.EC2NodeClass }

var _ activities.NodeClassSource = resolvedClasses{}

func (r resolvedClasses) NodeClass(name string) (*awsv1.EC2NodeClass, bool) {
	if r.class == nil || r.class.Name != name {
		return nil, false
	}
	return r.class.DeepCopy(), true
}

// mirroredParameters reads AWS's public parameters (/aws/…) from under launchParameterMirror,
// where the test could seed them; every read still goes to moto's GetParameter.
type mirroredParameters struct{ api *ssm.Client }

var _ activities.SSMAPI = mirroredParameters{}

func (m mirroredParameters) GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	mirrored := *in
	if name := aws.ToString(in.Name); strings.HasPrefix(name, "/aws/") {
		mirrored.Name = aws.String(launchParameterMirror + name)
	}
	return m.api.GetParameter(ctx, &mirrored, opts...)
}

// recordedEC2 is moto's EC2 with the launch calls recorded: what CreateFleet was asked and
// answered, and which launch templates were created.
type recordedEC2 struct {
	*ec2.Client
	mu        sync.Mutex
	fleet     []fleetCall
	templates []string // created, by name
}

var _ activities.EC2API = (*recordedEC2)(nil)

// fleetCall is one CreateFleet: the request, the answer, and the API error code ("" for none).
type fleetCall struct {
	in   *ec2.CreateFleetInput
	out  *ec2.CreateFleetOutput
	code string
}

func (r *recordedEC2) CreateFleet(ctx context.Context, in *ec2.CreateFleetInput, opts ...func(*ec2.Options)) (*ec2.CreateFleetOutput, error) {
	out, err := r.Client.CreateFleet(ctx, in, opts...)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fleet = append(r.fleet, fleetCall{in: in, out: out, code: code(err)})
	return out, err
}

func (r *recordedEC2) CreateLaunchTemplate(ctx context.Context, in *ec2.CreateLaunchTemplateInput, opts ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error) {
	out, err := r.Client.CreateLaunchTemplate(ctx, in, opts...)
	if err == nil {
		r.mu.Lock()
		r.templates = append(r.templates, aws.ToString(in.LaunchTemplateName))
		r.mu.Unlock()
	}
	return out, err
}

func (r *recordedEC2) fleets() []fleetCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.fleet)
}

func (r *recordedEC2) created() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.templates)
}

func (r *recordedEC2) clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fleet, r.templates = nil, nil
}

func fleetCodes(calls []fleetCall) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.code
		if out[i] == "" {
			out[i] = "success"
		}
	}
	return out
}

func roleTrusting(service string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service + `"},"Action":"sts:AssumeRole"}]}`
}

func tagsByKey(tags []ec2types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// valuesInOrder lists a map's values in order.
func valuesInOrder(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return sorted(out...)
}
