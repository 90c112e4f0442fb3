package ec2sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/iampolicy"
)

// shippedPolicy is iam/controller-policy.json as the stack installs it for the cluster lab in
// us-east-1, plus any extra statements.
func shippedPolicy(t *testing.T, extra ...string) *iampolicy.Policy {
	t.Helper()
	raw, err := os.ReadFile("../../iam/controller-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := iampolicy.Substitute(string(raw), map[string]string{
		"ClusterName": "lab", "AWS::Region": "us-east-1", "AWS::AccountId": ec2sim.AccountID, "AWS::Partition": "aws",
		"InterruptionQueueName": "nodewright-interruptions", "NodeRoleName": "NodewrightNodeRole-lab",
	})
	if err != nil {
		t.Fatalf("controller policy: %v", err)
	}
	if len(extra) > 0 {
		var whole map[string]any
		if err := json.Unmarshal([]byte(doc), &whole); err != nil {
			t.Fatal(err)
		}
		for _, s := range extra {
			var statement any
			if err := json.Unmarshal([]byte(s), &statement); err != nil {
				t.Fatalf("extra statement %s: %v", s, err)
			}
			whole["Statement"] = append(whole["Statement"].([]any), statement)
		}
		b, _ := json.Marshal(whole)
		doc = string(b)
	}
	p, err := iampolicy.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("controller policy: %v", err)
	}
	return p
}

// setupStatement lets a test make what the shipped policy never lets Nodewright make (an
// instance without the cluster tag, Karpenter's template), by tagging it ec2sim-test=setup.
const setupStatement = `{"Sid": "TestSetup", "Effect": "Allow", "Resource": "*",
	"Action": ["ec2:CreateFleet", "ec2:RunInstances", "ec2:CreateTags", "ec2:CreateLaunchTemplate"],
	"Condition": {"StringEquals": {"aws:RequestTag/ec2sim-test": "setup"}}}`

var setupTag = map[string]string{"ec2sim-test": "setup"}

// ownedInstanceTags are the tags Nodewright's worker gives an instance, its volumes and fleet.
func ownedInstanceTags() map[string]string {
	return map[string]string{
		"kubernetes.io/cluster/lab": "owned", "eks:eks-cluster-name": "lab",
		"karpenter.sh/nodepool": "default", "karpenter.sh/nodeclaim": "default-x7k2p",
		"nodewright.io/workflow-id": "node/default-x7k2p", "Name": "default-x7k2p",
	}
}

// ownedTemplateTags are the tags Nodewright's worker gives a launch template.
func ownedTemplateTags() map[string]string {
	return map[string]string{"kubernetes.io/cluster/lab": "owned", "eks:eks-cluster-name": "lab", "nodewright.io/ec2nodeclass": "default"}
}

// with is tags plus more, for tests that add or take away one.
func with(tags map[string]string, more map[string]string) map[string]string {
	out := maps.Clone(tags)
	maps.Copy(out, more)
	return out
}

func without(tags map[string]string, key string) map[string]string {
	out := maps.Clone(tags)
	delete(out, key)
	return out
}

// withLaunchTags has the template tag what its launches create of a kind, as Karpenter's
// templates tag network interfaces and spot requests.
func withLaunchTags(kind types.ResourceType, tags map[string]string) templateOption {
	return func(in *ec2.CreateLaunchTemplateInput) {
		in.LaunchTemplateData.TagSpecifications = append(in.LaunchTemplateData.TagSpecifications,
			types.LaunchTemplateTagSpecificationRequest{ResourceType: kind, Tags: ec2Tags(tags)})
	}
}

// taggedAs replaces the fleet's TagSpecifications with tags for each kind.
func taggedAs(tags map[string]string, kinds ...types.ResourceType) fleetOption {
	return func(in *ec2.CreateFleetInput) {
		in.TagSpecifications = nil
		for _, kind := range kinds {
			in.TagSpecifications = append(in.TagSpecifications, types.TagSpecification{ResourceType: kind, Tags: ec2Tags(tags)})
		}
	}
}

// ownedFleet is a one-instance fleet from the template, tagged as the worker tags its fleets.
func ownedFleet(capacity types.DefaultTargetCapacityType, template string, tags map[string]string) *ec2.CreateFleetInput {
	return fleet(capacity, []types.FleetLaunchTemplateOverridesRequest{override("m5.large")}, fromTemplate(template, "$Latest"),
		taggedAs(tags, types.ResourceTypeInstance, types.ResourceTypeVolume, types.ResourceTypeFleet))
}

// ownedTemplate is a template as the worker's should be: tagged as Nodewright's, and tagging
// the network interfaces (and, with spot, the spot requests) its launches create.
func ownedTemplate(name string, spot bool) *ec2.CreateLaunchTemplateInput {
	opts := []templateOption{withTemplateTags(ownedTemplateTags()), withLaunchTags(types.ResourceTypeNetworkInterface, ownedInstanceTags())}
	if spot {
		opts = append(opts, withLaunchTags(types.ResourceTypeSpotInstancesRequest, ownedInstanceTags()))
	}
	return template(name, opts...)
}

// enforcing is a sim over the default images that enforces the policy, and a client for it.
type enforcing struct {
	sim    *ec2sim.Sim
	client *ec2.Client
	url    string
}

func newEnforcing(t *testing.T, policy *iampolicy.Policy) enforcing {
	t.Helper()
	sim := newSim(t, func(o *ec2sim.Options) { o.Policy, o.Images = policy, ec2sim.DefaultImages("1.33") })
	server := httptest.NewServer(sim)
	t.Cleanup(server.Close)
	return enforcing{sim: sim, client: clientFor(server.URL, 1), url: server.URL}
}

// setupInstance launches, through the setup statement, an instance with the tags given (and
// the setup tag), for a test to try terminating.
func (e enforcing) setupInstance(t *testing.T, tags map[string]string) string {
	t.Helper()
	tags = with(tags, setupTag)
	createTemplate(t, e.client, template("setup", withTemplateTags(ownedTemplateTags()), withLaunchTags(types.ResourceTypeNetworkInterface, tags)))
	return launchOne(t, e.client, ownedFleet(types.DefaultTargetCapacityTypeOnDemand, "setup", tags))
}

// denied checks that err is EC2's refusal of action on a resource whose ARN begins with
// resource, answered with HTTP 403.
func denied(t *testing.T, err error, action, resource string) {
	t.Helper()
	if err == nil {
		t.Fatalf("the call succeeded; want %s on %s refused", action, resource)
	}
	if code := errorCode(t, err); code != ec2sim.CodeUnauthorizedOperation {
		t.Fatalf("refused with %s (%v), want %s", code, err, ec2sim.CodeUnauthorizedOperation)
	}
	var resp *awshttp.ResponseError
	if !errors.As(err, &resp) || resp.HTTPStatusCode() != http.StatusForbidden {
		t.Errorf("refused with HTTP status %v, want 403", resp)
	}
	if want := "is not authorized to perform: " + action + " on resource: " + resource; !strings.Contains(err.Error(), want) {
		t.Errorf("refusal %q does not say %q", err, want)
	}
}

// The shipped policy lets the worker do everything a node's life needs, when its templates
// tag what launches create.
func TestShippedPolicyAllowsNodewrightsLaunchPath(t *testing.T) {
	e := newEnforcing(t, shippedPolicy(t))
	ctx := context.Background()
	var onDemand, spot string
	steps := []struct {
		name string
		call func() error
	}{
		{"create the on-demand template", func() error {
			_, err := e.client.CreateLaunchTemplate(ctx, ownedTemplate("nodewright-default", false))
			return err
		}},
		{"create the spot template", func() error {
			_, err := e.client.CreateLaunchTemplate(ctx, ownedTemplate("nodewright-spot", true))
			return err
		}},
		{"look the template up", func() error {
			_, err := e.client.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"nodewright-default"}})
			return err
		}},
		{"resolve the class's subnets", func() error { _, err := e.client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{}); return err }},
		{"resolve the class's security groups", func() error {
			_, err := e.client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
			return err
		}},
		{"resolve the class's images", func() error { _, err := e.client.DescribeImages(ctx, &ec2.DescribeImagesInput{}); return err }},
		{"read the instance types", func() error {
			_, err := e.client.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{})
			return err
		}},
		{"launch on demand", func() error {
			out, err := e.client.CreateFleet(ctx, ownedFleet(types.DefaultTargetCapacityTypeOnDemand, "nodewright-default", ownedInstanceTags()))
			if err == nil && len(fleetInstanceIDs(out)) == 1 {
				onDemand = fleetInstanceIDs(out)[0]
			}
			return err
		}},
		{"launch spot", func() error {
			out, err := e.client.CreateFleet(ctx, ownedFleet(types.DefaultTargetCapacityTypeSpot, "nodewright-spot", ownedInstanceTags()))
			if err == nil && len(fleetInstanceIDs(out)) == 1 {
				spot = fleetInstanceIDs(out)[0]
			}
			return err
		}},
		{"look the instances up", func() error { _, err := e.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); return err }},
		{"terminate the instances", func() error {
			_, err := e.client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{onDemand, spot}})
			return err
		}},
		{"delete the template", func() error {
			_, err := e.client.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("nodewright-default")})
			return err
		}},
	}
	for _, step := range steps {
		if err := step.call(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
	for _, id := range []string{onDemand, spot} {
		if inst, _ := e.sim.Instance(id); inst.State != ec2sim.StateTerminated {
			t.Errorf("instance %s is %s, want terminated", id, inst.State)
		}
	}
}

// The shipped policy keeps the worker to what it made for this cluster; a refused call
// changes nothing.
func TestShippedPolicyRefusesWhatNodewrightDoesNotOwn(t *testing.T) {
	const account = "arn:aws:ec2:us-east-1:" + ec2sim.AccountID + ":"
	ctx := context.Background()
	tests := []struct {
		name     string
		call     func(t *testing.T, e enforcing) (resourceID string, err error) // resourceID completes the ARN
		action   string
		resource string // the ARN up to the resource's id
		after    func(t *testing.T, e enforcing, resourceID string)
	}{
		{
			name: "terminate an instance without the cluster tag",
			call: func(t *testing.T, e enforcing) (string, error) {
				id := e.setupInstance(t, without(ownedInstanceTags(), "kubernetes.io/cluster/lab"))
				_, err := e.client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
				return id, err
			},
			action: "ec2:TerminateInstances", resource: account + "instance/",
			after: stillRunning,
		},
		{
			name: "terminate an instance Karpenter launched (tagged karpenter.k8s.aws/ec2nodeclass)",
			call: func(t *testing.T, e enforcing) (string, error) {
				id := e.setupInstance(t, with(ownedInstanceTags(), map[string]string{"karpenter.k8s.aws/ec2nodeclass": "default"}))
				_, err := e.client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
				return id, err
			},
			action: "ec2:TerminateInstances", resource: account + "instance/",
			after: stillRunning,
		},
		{
			name: "terminate an owned instance together with one Karpenter launched",
			call: func(t *testing.T, e enforcing) (string, error) {
				karpenters := e.setupInstance(t, with(ownedInstanceTags(), map[string]string{"karpenter.k8s.aws/ec2nodeclass": "default"}))
				ours := launchOne(t, e.client, ownedFleet(types.DefaultTargetCapacityTypeOnDemand, "setup", with(ownedInstanceTags(), setupTag)))
				_, err := e.client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{ours, karpenters}})
				return karpenters, err
			},
			action: "ec2:TerminateInstances", resource: account + "instance/",
			after: func(t *testing.T, e enforcing, _ string) {
				for _, inst := range e.sim.Instances() {
					if inst.State != ec2sim.StateRunning {
						t.Errorf("instance %s is %s: a refused TerminateInstances must end none", inst.ID, inst.State)
					}
				}
			},
		},
		{
			name: "launch without the cluster tag",
			call: func(t *testing.T, e enforcing) (string, error) {
				createTemplate(t, e.client, ownedTemplate("nodewright-default", false))
				_, err := e.client.CreateFleet(ctx, ownedFleet(types.DefaultTargetCapacityTypeOnDemand, "nodewright-default", without(ownedInstanceTags(), "kubernetes.io/cluster/lab")))
				return "*", err
			},
			action: "ec2:CreateFleet", resource: account + "fleet/",
			after: nothingLaunched,
		},
		{
			name: "launch an instance tagged as Karpenter's",
			call: func(t *testing.T, e enforcing) (string, error) {
				createTemplate(t, e.client, ownedTemplate("nodewright-default", false))
				_, err := e.client.CreateFleet(ctx, ownedFleet(types.DefaultTargetCapacityTypeOnDemand, "nodewright-default",
					with(ownedInstanceTags(), map[string]string{"karpenter.k8s.aws/ec2nodeclass": "default"})))
				return "*", err
			},
			action: "ec2:CreateFleet", resource: account + "fleet/",
			after: nothingLaunched,
		},
		{
			name: "launch from a template that leaves network interfaces untagged",
			call: func(t *testing.T, e enforcing) (string, error) {
				createTemplate(t, e.client, template("nodewright-default", withTemplateTags(ownedTemplateTags())))
				_, err := e.client.CreateFleet(ctx, ownedFleet(types.DefaultTargetCapacityTypeOnDemand, "nodewright-default", ownedInstanceTags()))
				return "*", err
			},
			action: "ec2:CreateFleet", resource: account + "network-interface/",
			after: nothingLaunched,
		},
		{
			name: "launch spot from a template that leaves spot requests untagged",
			call: func(t *testing.T, e enforcing) (string, error) {
				createTemplate(t, e.client, ownedTemplate("nodewright-default", false))
				_, err := e.client.CreateFleet(ctx, ownedFleet(types.DefaultTargetCapacityTypeSpot, "nodewright-default", ownedInstanceTags()))
				return "*", err
			},
			action: "ec2:CreateFleet", resource: account + "spot-instances-request/",
			after: nothingLaunched,
		},
		{
			name: "launch from Karpenter's launch template",
			call: func(t *testing.T, e enforcing) (string, error) {
				id := createTemplate(t, e.client, template("karpenter-default",
					withTemplateTags(with(without(ownedTemplateTags(), "nodewright.io/ec2nodeclass"), map[string]string{"karpenter.k8s.aws/ec2nodeclass": "default", "ec2sim-test": "setup"})),
					withLaunchTags(types.ResourceTypeNetworkInterface, ownedInstanceTags())))
				_, err := e.client.CreateFleet(ctx, ownedFleet(types.DefaultTargetCapacityTypeOnDemand, "karpenter-default", ownedInstanceTags()))
				return id, err
			},
			action: "ec2:CreateFleet", resource: account + "launch-template/",
			after: nothingLaunched,
		},
		{
			name: "create a template without the class tag",
			call: func(t *testing.T, e enforcing) (string, error) {
				_, err := e.client.CreateLaunchTemplate(ctx, template("nodewright-default", withTemplateTags(without(ownedTemplateTags(), "nodewright.io/ec2nodeclass"))))
				return "*", err
			},
			action: "ec2:CreateLaunchTemplate", resource: account + "launch-template/",
			after: func(t *testing.T, e enforcing, _ string) {
				_, err := e.client.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"nodewright-default"}})
				if err == nil {
					t.Error("a refused CreateLaunchTemplate made the template")
				}
			},
		},
		{
			name: "delete a template without the class tag",
			call: func(t *testing.T, e enforcing) (string, error) {
				id := createTemplate(t, e.client, template("shared", withTemplateTags(with(without(ownedTemplateTags(), "nodewright.io/ec2nodeclass"), setupTag))))
				_, err := e.client.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(id)})
				return id, err
			},
			action: "ec2:DeleteLaunchTemplate", resource: account + "launch-template/",
			after: func(t *testing.T, e enforcing, id string) {
				if _, err := e.client.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{id}}); err != nil {
					t.Errorf("template %s after a refused delete: %v", id, err)
				}
			},
		},
		{
			name: "describe instances in another region",
			call: func(t *testing.T, e enforcing) (string, error) {
				west := ec2.New(ec2.Options{Region: "us-west-2", BaseEndpoint: aws.String(e.url), Credentials: e.client.Options().Credentials, HTTPClient: ec2sim.HTTPClient()})
				_, err := west.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
				return "", err
			},
			action: "ec2:DescribeInstances", resource: "*",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnforcing(t, shippedPolicy(t, setupStatement))
			id, err := tc.call(t, e)
			denied(t, err, tc.action, tc.resource+id)
			if tc.after != nil {
				tc.after(t, e, id)
			}
		})
	}
}

func stillRunning(t *testing.T, e enforcing, id string) {
	t.Helper()
	if inst, _ := e.sim.Instance(id); inst.State != ec2sim.StateRunning {
		t.Errorf("instance %s is %s after a refused TerminateInstances, want running", id, inst.State)
	}
}

func nothingLaunched(t *testing.T, e enforcing, _ string) {
	t.Helper()
	if n := len(e.sim.Instances()); n != 0 {
		t.Errorf("a refused CreateFleet launched %d instances", n)
	}
}

// A denial reads as EC2's, then says in plain words what EC2 would encode.
func TestUnauthorizedOperationReadsLikeEC2s(t *testing.T) {
	e := newEnforcing(t, shippedPolicy(t, setupStatement))
	id := e.setupInstance(t, without(ownedInstanceTags(), "karpenter.sh/nodepool"))
	_, err := e.client.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	want := "You are not authorized to perform this operation. User: arn:aws:iam::" + ec2sim.AccountID + ":user/AKIDEC2SIM " +
		"is not authorized to perform: ec2:TerminateInstances on resource: arn:aws:ec2:us-east-1:" + ec2sim.AccountID + ":instance/" + id +
		" because no identity-based policy allows the ec2:TerminateInstances action." +
		" Decoded authorization failure message (ec2sim): no statement allows it: statement AllowScopedInstanceTermination needs StringLike aws:ResourceTag/karpenter.sh/nodepool [*] (the request has no such key)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("refusal is\n %v\nwant it to contain\n %s", err, want)
	}
}

// Without a policy, the default, the simulator refuses nothing on IAM's grounds.
func TestNoPolicyAuthorisesEverything(t *testing.T) {
	sim := newSim(t)
	client := launchClient(t, sim)
	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeSpot, []types.FleetLaunchTemplateOverridesRequest{override("m5.large")},
		withTags(map[string]string{"karpenter.k8s.aws/ec2nodeclass": "default"})))
	if _, err := client.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("terminate %s with no policy: %v", id, err)
	}
}

// The shipped policy lets the worker read the market; a policy that denies it refuses the
// call as EC2 does, on resource "*".
func TestMarketReadsAreAuthorised(t *testing.T) {
	ctx := context.Background()
	for action, call := range marketReads() {
		t.Run(action, func(t *testing.T) {
			if err := call(ctx, newEnforcing(t, shippedPolicy(t)).client); err != nil {
				t.Errorf("the shipped policy refused %s: %v", action, err)
			}
			deny := `{"Effect": "Deny", "Action": "ec2:` + action + `", "Resource": "*"}`
			denied(t, call(ctx, newEnforcing(t, shippedPolicy(t, deny)).client), "ec2:"+action, "*")
		})
	}
}
