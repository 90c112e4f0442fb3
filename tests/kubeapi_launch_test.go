package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodewright/nodewright/activities"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/stack"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// labEC2 is the real SDK client on the lab's EC2, as an operator's aws CLI would be.
func labEC2() *ec2.Client {
	return ec2.New(ec2.Options{Region: lab.Region, BaseEndpoint: aws.String(lab.EC2URL),
		Credentials: stack.LabCredentials(), HTTPClient: ec2sim.HTTPClient()})
}

// tolerating lets a pod onto the test pool's tainted nodes and pins its architecture.
func tolerating(arch string, extra ...corev1.NodeSelectorRequirement) func(*corev1.PodTemplateSpec) {
	return func(p *corev1.PodTemplateSpec) {
		p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Value: "web", Effect: corev1.TaintEffectNoSchedule}}
		reqs := append([]corev1.NodeSelectorRequirement{{Key: v1.LabelArch, Operator: corev1.NodeSelectorOpIn, Values: []string{arch}}}, extra...)
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: reqs}}}}}
	}
}

// A pool of either architecture launches each node from its class: in a selected subnet,
// with the class's security group and instance profile, from the AMI the al2023 alias gives
// its architecture, through a launch template per architecture. The node registers from its
// user data alone with the pool's labels and taints, is labelled as Karpenter labels a node,
// and its NodeClaim names the image. A pod that asks for instance families gets one of them,
// and a launch template deleted behind the worker's back is made again.
func TestNodesLaunchAsTheirEC2NodeClassSays(t *testing.T) {
	const name = "launch"
	manifest := strings.Replace(poolYAML(name, "taints: [{key: dedicated, value: web, effect: NoSchedule}]", "consolidateAfter: Never"),
		"  template:\n    spec:", "  template:\n    metadata:\n      labels: {team: web}\n    spec:", 1)
	e := startAPIEnv(t, manifest)
	e.deploy("amd", 1, "500m", tolerating("amd64"))
	e.deploy("arm", 1, "500m", tolerating("arm64"))
	e.allBound(2)
	e.allInitialized()

	class := nodeClass(e, name)
	claims := map[string]v1.NodeClaim{}
	for _, c := range e.nodeClaims() {
		claims[c.Status.NodeName] = c
	}
	templates := map[string]bool{}
	for _, node := range e.nodes() {
		id := node.Spec.ProviderID[strings.LastIndex(node.Spec.ProviderID, "/")+1:]
		inst, ok := lab.EC2.Instance(id)
		if !ok {
			t.Fatalf("node %s names instance %s, which EC2 does not know", node.Name, id)
		}
		arch := node.Labels[v1.LabelArch]
		templates[inst.LaunchTemplateName] = true
		if want := amiFor(t, class, arch); inst.ImageID != want {
			t.Errorf("%s instance %s runs %s, want the class's %s AMI %s", arch, id, inst.ImageID, arch, want)
		}
		subnet := slices.IndexFunc(class.Status.Subnets, func(s awsv1.Subnet) bool { return s.ID == inst.SubnetID })
		if subnet < 0 {
			t.Errorf("instance %s is in subnet %s, not one the class selected (%+v)", id, inst.SubnetID, class.Status.Subnets)
		} else if got := node.Labels[v1.LabelZoneID]; got != class.Status.Subnets[subnet].ZoneID {
			t.Errorf("node %s zone-id label %q, want its subnet's %q", node.Name, got, class.Status.Subnets[subnet].ZoneID)
		}
		if !slices.Equal(inst.SecurityGroupIDs, []string{class.Status.SecurityGroups[0].ID}) || inst.InstanceProfile != class.Status.InstanceProfile {
			t.Errorf("instance %s has groups %v and profile %q, want the class's %v and %q",
				id, inst.SecurityGroupIDs, inst.InstanceProfile, class.Status.SecurityGroups, class.Status.InstanceProfile)
		}
		if !strings.Contains(inst.UserData, "team=web") || !strings.Contains(inst.UserData, "key: dedicated") {
			t.Errorf("instance %s's user data does not carry the pool's label and taint:\n%s", id, inst.UserData)
		}
		if node.Labels["team"] != "web" || node.Labels[v1.LabelInitialized] != "true" {
			t.Errorf("node %s labels %v, want team=web and %s=true", node.Name, node.Labels, v1.LabelInitialized)
		}
		var taints []string
		for _, taint := range node.Spec.Taints {
			taints = append(taints, taint.ToString())
		}
		if !slices.Contains(taints, "dedicated=web:NoSchedule") || slices.ContainsFunc(taints, func(s string) bool { return strings.HasPrefix(s, v1.TaintKeyUnregistered) }) {
			t.Errorf("node %s taints %v, want the pool's and not %s", node.Name, taints, v1.TaintKeyUnregistered)
		}
		if got := claims[node.Name].Status.ImageID; got != inst.ImageID {
			t.Errorf("NodeClaim of %s says image %q, want %q", node.Name, got, inst.ImageID)
		}
	}
	if len(templates) != 2 {
		t.Errorf("the two architectures launched from launch templates %v, want one each", templates)
	}

	family := corev1.NodeSelectorRequirement{Key: catalog.LabelInstanceFamily, Operator: corev1.NodeSelectorOpIn, Values: []string{"c6a", "m6a"}}
	e.deploy("family", 1, "500m", tolerating("amd64", family))
	e.allBound(3)
	for _, p := range e.pods() {
		if p.Labels["app"] != "family" {
			continue
		}
		node, err := lab.Kube.Client.CoreV1().Nodes().Get(e.ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if f := node.Labels[catalog.LabelInstanceFamily]; f != "c6a" && f != "m6a" {
			t.Errorf("the pod asking for c6a or m6a runs on a %s", f)
		}
	}

	// Deleted behind the worker's back: the next launch makes its template again.
	api := labEC2()
	for name := range templates {
		if _, err := api.DeleteLaunchTemplate(e.ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String(name)}); err != nil {
			t.Fatalf("delete launch template %s: %v", name, err)
		}
	}
	e.deploy("again", 1, "3", tolerating("arm64"))
	e.allBound(4)
	out, err := api.DescribeLaunchTemplates(e.ctx, &ec2.DescribeLaunchTemplatesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + activities.TagNodeClass), Values: []string{name}}}})
	if err != nil || len(out.LaunchTemplates) == 0 {
		t.Errorf("after the templates were deleted: %d templates of the class (%v), want the arm64 one made again", len(out.LaunchTemplates), err)
	}
}

// amiFor is the AMI of the class's status that a non-GPU type of the architecture takes.
func amiFor(t *testing.T, class awsv1.EC2NodeClass, arch string) string {
	t.Helper()
	for _, ami := range class.Status.AMIs {
		archOK, noGPU := false, false
		for _, r := range ami.Requirements {
			archOK = archOK || (r.Key == v1.LabelArch && slices.Contains(r.Values, arch))
			noGPU = noGPU || (r.Key == catalog.LabelInstanceGPUCount && r.Operator == corev1.NodeSelectorOpDoesNotExist)
		}
		if archOK && noGPU {
			return ami.ID
		}
	}
	t.Fatalf("class status has no %s AMI: %+v", arch, class.Status.AMIs)
	return ""
}

// Deleting an EC2NodeClass waits for the nodes launched from it, then deletes the instance
// profile and launch templates Nodewright made for it, and lets it go.
func TestDeletingAnEC2NodeClassReleasesWhatWasMadeForIt(t *testing.T) {
	const name = "release"
	manifest := poolYAML(name, "", "consolidateAfter: Never")
	e := startAPIEnv(t, manifest)
	e.deploy("web", 1, "500m")
	e.allBound(1)
	profile := nodeClass(e, name).Status.InstanceProfile
	if _, ok := lab.IAM.InstanceProfile(profile); profile == "" || !ok {
		t.Fatalf("class status names instance profile %q, which IAM does not have", profile)
	}

	startDeletingManifest(e.ctx, t, strings.TrimPrefix(nodeClassYAML(name), "---\n"))
	time.Sleep(2 * time.Second)
	if _, ok := lab.IAM.InstanceProfile(profile); !ok {
		t.Fatal("the instance profile went while a node launched from the class still runs")
	}
	deleteManifest(t, strings.TrimSuffix(manifest, nodeClassYAML(name)))
	e.eventually("the class to go", 2*time.Minute, func() (bool, string) {
		_, err := dynamicClient(t).Resource(awsv1.EC2NodeClassResource).Get(e.ctx, name, metav1.GetOptions{})
		return err != nil, fmt.Sprintf("get: %v; NodeClaims %d", err, len(e.nodeClaims()))
	})
	if _, ok := lab.IAM.InstanceProfile(profile); ok {
		t.Errorf("instance profile %s outlived its class", profile)
	}
	out, err := labEC2().DescribeLaunchTemplates(e.ctx, &ec2.DescribeLaunchTemplatesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + activities.TagNodeClass), Values: []string{name}}}})
	if err != nil || len(out.LaunchTemplates) != 0 {
		t.Errorf("%d launch templates of the class outlived it (%v)", len(out.LaunchTemplates), err)
	}
}
