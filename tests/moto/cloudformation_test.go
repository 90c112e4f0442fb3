package moto

import (
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.yaml.in/yaml/v3"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/lab/iampolicy"
)

// What moto 5.2 does not do with iam/cloudformation.yaml, and what the tests do instead:
//   - AWS::IAM::ManagedPolicy json.dumps its PolicyDocument (moto/iam/models.py), so the JSON
//     string the template gives, which real CloudFormation takes and which condition keys
//     holding ${ClusterName} need, reaches moto's validator double-encoded and CreateStack fails
//     with "Syntax errors in policy". motoTemplate hands moto the same document as a mapping
//     whose every value is still an Fn::Sub with the template's variables; only the keys'
//     ${ClusterName} is put in by the test. The string form itself is checked, with no moto,
//     by TestCloudFormationTemplateSaysWhatThePolicyFileSays.
//   - AWS::IAM::Role drops ManagedPolicyArns: the role is made with nothing attached.
//   - AWS::SQS::QueuePolicy is not implemented (a warning, and a stack resource with no
//     logical id): the queue has no Policy attribute.
//     TestCloudFormationTemplateWiresWhatMotoIgnores checks these two in the template.
//   - No IAM quota is enforced: a managed policy over 6,144 characters is taken. The template
//     test measures each policy instead.

const (
	stackCluster = "lab"
	stackRegion  = "us-east-1"
	stackAccount = "123456789012" // moto's account
	policyFile   = "../../iam/controller-policy.json"
	templateFile = "../../iam/cloudformation.yaml"
	// longestCluster is the longest ClusterName the template takes: the role name
	// NodewrightNodeRole-${ClusterName} must stay within IAM's 64 characters.
	longestCluster = 64 - len("NodewrightNodeRole-")
	// managedPolicyQuota is IAM's limit on a managed policy, whitespace not counted.
	managedPolicyQuota = 6144
)

// stackValues are what Fn::Sub puts for each placeholder of the template and the policy file
// in a stack made in moto's account and region with ClusterName set to cluster.
func stackValues(cluster string) map[string]string {
	return map[string]string{
		"ClusterName": cluster, "AWS::Region": stackRegion, "AWS::AccountId": stackAccount, "AWS::Partition": "aws",
		"AWS::URLSuffix": "amazonaws.com", "NodeRoleName": "NodewrightNodeRole-" + cluster, "InterruptionQueueName": cluster,
	}
}

// The template deploys into moto's CloudFormation with ClusterName=lab, and IAM, SQS and
// EventBridge then hold the node role, the controller's policies, the interruption queue and
// its four rules.
func TestCloudFormationStackDeploysIntoMoto(t *testing.T) {
	api := stackAPIs(t)
	reset(t)
	stack := api.deploy(t, "nodewright-lab", motoTemplate(t))

	for key, want := range map[string]string{
		"NodeRoleName":                   "NodewrightNodeRole-lab",
		"ControllerPolicyArn":            "arn:aws:iam::" + stackAccount + ":policy/NodewrightControllerPolicy-lab",
		"ControllerIntegrationPolicyArn": "arn:aws:iam::" + stackAccount + ":policy/NodewrightControllerIntegrationPolicy-lab",
		"InterruptionQueueName":          "lab",
	} {
		if got := stack.outputs[key]; got != want {
			t.Errorf("output %s is %q, want %q", key, got, want)
		}
	}
	api.checkNodeRole(t, stack.outputs["NodeRoleName"])
	api.checkControllerPolicies(t, stack.outputs["ControllerPolicyArn"], stack.outputs["ControllerIntegrationPolicyArn"])
	queueARN := api.checkInterruptionQueue(t, stack.outputs["InterruptionQueueName"])
	api.checkInterruptionRules(t, stack.resources, queueARN)
}

// The template's two managed policies say together what iam/controller-policy.json says, and
// each stays within IAM's quota for the longest cluster name the template takes.
func TestCloudFormationTemplateSaysWhatThePolicyFileSays(t *testing.T) {
	want := readPolicy(t, policyFile, mustRead(t, policyFile), stackValues(stackCluster))
	wantVars := map[string]string{"NodeRoleName": "!Ref NodewrightNodeRole", "InterruptionQueueName": "!GetAtt NodewrightInterruptionQueue.QueueName"}
	var got []iampolicy.Statement
	var names []string
	for _, p := range controllerPolicies(t, loadTemplate(t)) {
		names = append(names, p.name)
		for _, name := range iampolicy.Placeholders(p.document) {
			if name != "ClusterName" && !strings.HasPrefix(name, "AWS::") && p.vars[name] != wantVars[name] {
				t.Errorf("%s: ${%s} stands for %q, want %q", p.logicalID, name, p.vars[name], wantVars[name])
			}
		}
		doc := readPolicy(t, p.logicalID, p.document, stackValues(stackCluster))
		got = append(got, doc.Statement...)

		long := readPolicy(t, p.logicalID, p.document, stackValues(strings.Repeat("c", longestCluster)))
		if size := compactSize(t, long); size > managedPolicyQuota {
			t.Errorf("%s is %d characters for a %d-character cluster name, over IAM's %d", p.logicalID, size, longestCluster, managedPolicyQuota)
		}
	}
	slices.Sort(names)
	if wantNames := []string{"NodewrightControllerIntegrationPolicy-${ClusterName}", "NodewrightControllerPolicy-${ClusterName}"}; !slices.Equal(names, wantNames) {
		t.Errorf("the template's managed policies are %v, want %v", names, wantNames)
	}
	compareStatements(t, "the template's policies", got, want.Statement)
}

// What moto ignores is checked in the template: the node role's four AWS managed policies, and
// the queue policy that lets EventBridge deliver to the queue.
func TestCloudFormationTemplateWiresWhatMotoIgnores(t *testing.T) {
	root := loadTemplate(t)
	var arns []string
	for _, n := range yamlPath(t, root, "Resources", "NodewrightNodeRole", "Properties", "ManagedPolicyArns").Content {
		arns = append(arns, substitute(t, "ManagedPolicyArns", n.Value, stackValues(stackCluster)))
	}
	if want := nodeRolePolicies(); !slices.Equal(arns, want) {
		t.Errorf("the node role attaches %v, want %v", arns, want)
	}

	policy := yamlPlain(yamlPath(t, root, "Resources", "NodewrightInterruptionQueuePolicy", "Properties"))
	want := map[string]any{
		"Queues": []any{map[string]any{"!Ref": "NodewrightInterruptionQueue"}},
		"PolicyDocument": map[string]any{"Id": "EC2InterruptionPolicy", "Statement": []any{
			map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"Service": []any{"events.amazonaws.com", "sqs.amazonaws.com"}},
				"Action": "sqs:SendMessage", "Resource": map[string]any{"!GetAtt": "NodewrightInterruptionQueue.Arn"},
			},
			map[string]any{
				"Sid": "DenyHTTP", "Effect": "Deny", "Action": "sqs:*", "Resource": map[string]any{"!GetAtt": "NodewrightInterruptionQueue.Arn"},
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}, "Principal": "*",
			},
		}},
	}
	if !reflect.DeepEqual(policy, want) {
		t.Errorf("the interruption queue's policy is\n%v\nwant\n%v", policy, want)
	}
}

func nodeRolePolicies() []string {
	var out []string
	for _, p := range []string{"AmazonEKS_CNI_Policy", "AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore"} {
		out = append(out, "arn:aws:iam::aws:policy/"+p)
	}
	return out
}

// stackClients are the SDK's clients pointed at moto.
type stackClients struct {
	cfn    *cloudformation.Client
	iam    *iam.Client
	sqs    *sqs.Client
	events *eventbridge.Client
}

// stackAPIs is ec2Client for the services the template uses.
func stackAPIs(t *testing.T) stackClients {
	t.Helper()
	cfg := motoConfig(t, stackRegion)
	return stackClients{cloudformation.NewFromConfig(cfg), iam.NewFromConfig(cfg), sqs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg)}
}

// deployedStack is what CloudFormation says of a stack it made.
type deployedStack struct {
	outputs   map[string]string
	resources map[string]string // logical id → physical id
}

// deploy creates the stack with ClusterName=lab and waits, polling DescribeStacks, until it
// is CREATE_COMPLETE.
func (api stackClients) deploy(t *testing.T, name, body string) deployedStack {
	t.Helper()
	c := ctx(t)
	_, err := api.cfn.CreateStack(c, &cloudformation.CreateStackInput{
		StackName: aws.String(name), TemplateBody: aws.String(body),
		Parameters:   []cftypes.Parameter{{ParameterKey: aws.String("ClusterName"), ParameterValue: aws.String(stackCluster)}},
		Capabilities: []cftypes.Capability{cftypes.CapabilityCapabilityNamedIam},
	})
	if err != nil {
		t.Fatalf("create stack %s: %v", name, err)
	}
	var stack cftypes.Stack
	for {
		out, err := api.cfn.DescribeStacks(c, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil || len(out.Stacks) != 1 {
			t.Fatalf("describe stack %s: %v", name, err)
		}
		stack = out.Stacks[0]
		if !strings.HasSuffix(string(stack.StackStatus), "_IN_PROGRESS") {
			break
		}
		select {
		case <-c.Done():
			t.Fatalf("stack %s still %s: %v", name, stack.StackStatus, c.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	if stack.StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("stack %s ended %s: %s", name, stack.StackStatus, aws.ToString(stack.StackStatusReason))
	}
	got := deployedStack{outputs: map[string]string{}, resources: map[string]string{}}
	for _, o := range stack.Outputs {
		got.outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	res, err := api.cfn.DescribeStackResources(c, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(name)})
	if err != nil {
		t.Fatalf("describe stack %s's resources: %v", name, err)
	}
	for _, r := range res.StackResources {
		got.resources[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.PhysicalResourceId)
	}
	return got
}

func (api stackClients) checkNodeRole(t *testing.T, name string) {
	t.Helper()
	c := ctx(t)
	role, err := api.iam.GetRole(c, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatalf("node role %s: %v", name, err)
	}
	var trust struct {
		Statement []struct {
			Effect    string
			Principal struct{ Service stringList }
			Action    stringList
		}
	}
	if err := json.Unmarshal([]byte(unescapePolicy(t, aws.ToString(role.Role.AssumeRolePolicyDocument))), &trust); err != nil {
		t.Fatalf("node role %s's trust policy: %v", name, err)
	}
	if len(trust.Statement) != 1 || trust.Statement[0].Effect != "Allow" || !slices.Equal(trust.Statement[0].Principal.Service, stringList{"ec2.amazonaws.com"}) ||
		!slices.Equal(trust.Statement[0].Action, stringList{"sts:AssumeRole"}) {
		t.Errorf("node role %s trusts %+v, want only ec2.amazonaws.com to assume it", name, trust.Statement)
	}
	attached, err := api.iam.ListAttachedRolePolicies(c, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatalf("node role %s's policies: %v", name, err)
	}
	var arns []string
	for _, p := range attached.AttachedPolicies {
		arns = append(arns, aws.ToString(p.PolicyArn))
	}
	if len(arns) == 0 {
		t.Logf("moto attached none of node role %s's ManagedPolicyArns (it drops them); TestCloudFormationTemplateWiresWhatMotoIgnores checks them", name)
	} else if slices.Sort(arns); !slices.Equal(arns, sorted(nodeRolePolicies()...)) {
		t.Errorf("node role %s has %v attached, want %v", name, arns, nodeRolePolicies())
	}
}

// checkControllerPolicies reads the policies back from IAM: together they are the file, with
// the node role's name and the queue's in place of its variables.
func (api stackClients) checkControllerPolicies(t *testing.T, arns ...string) {
	t.Helper()
	c := ctx(t)
	var got []iampolicy.Statement
	for _, arn := range arns {
		p, err := api.iam.GetPolicy(c, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("controller policy %s: %v", arn, err)
		}
		v, err := api.iam.GetPolicyVersion(c, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			t.Fatalf("controller policy %s's document: %v", arn, err)
		}
		doc := readPolicy(t, arn, unescapePolicy(t, aws.ToString(v.PolicyVersion.Document)), nil)
		got = append(got, doc.Statement...)
	}
	want := readPolicy(t, policyFile, mustRead(t, policyFile), stackValues(stackCluster))
	compareStatements(t, "the policies in IAM", got, want.Statement)
}

// checkInterruptionQueue checks the queue's attributes and returns its ARN.
func (api stackClients) checkInterruptionQueue(t *testing.T, name string) string {
	t.Helper()
	c := ctx(t)
	u, err := api.sqs.GetQueueUrl(c, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("interruption queue %s: %v", name, err)
	}
	out, err := api.sqs.GetQueueAttributes(c, &sqs.GetQueueAttributesInput{QueueUrl: u.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		t.Fatalf("interruption queue %s's attributes: %v", name, err)
	}
	attrs := out.Attributes
	for key, want := range map[string]string{"MessageRetentionPeriod": "300", "SqsManagedSseEnabled": "true"} {
		if attrs[key] != want {
			t.Errorf("interruption queue %s has %s=%q, want %q", name, key, attrs[key], want)
		}
	}
	if attrs["Policy"] == "" {
		t.Logf("moto gave interruption queue %s no policy (it does not implement AWS::SQS::QueuePolicy); TestCloudFormationTemplateWiresWhatMotoIgnores checks it", name)
	} else if !strings.Contains(attrs["Policy"], "events.amazonaws.com") || !strings.Contains(attrs["Policy"], "sqs:SendMessage") {
		t.Errorf("interruption queue %s's policy does not let EventBridge send to it: %s", name, attrs["Policy"])
	}
	return attrs["QueueArn"]
}

// checkInterruptionRules checks Karpenter's four rules: each matches its events and sends them
// to the queue.
func (api stackClients) checkInterruptionRules(t *testing.T, resources map[string]string, queueARN string) {
	t.Helper()
	c := ctx(t)
	for rule, pattern := range map[string][2]string{
		"ScheduledChangeRule":     {"aws.health", "AWS Health Event"},
		"SpotInterruptionRule":    {"aws.ec2", "EC2 Spot Instance Interruption Warning"},
		"RebalanceRule":           {"aws.ec2", "EC2 Instance Rebalance Recommendation"},
		"InstanceStateChangeRule": {"aws.ec2", "EC2 Instance State-change Notification"},
	} {
		name, ok := resources[rule]
		if !ok {
			t.Errorf("the stack has no %s", rule)
			continue
		}
		out, err := api.events.DescribeRule(c, &eventbridge.DescribeRuleInput{Name: aws.String(name)})
		if err != nil {
			t.Fatalf("rule %s (%s): %v", rule, name, err)
		}
		var got map[string][]string
		if err := json.Unmarshal([]byte(aws.ToString(out.EventPattern)), &got); err != nil {
			t.Fatalf("rule %s's pattern %s: %v", rule, aws.ToString(out.EventPattern), err)
		}
		if want := map[string][]string{"source": {pattern[0]}, "detail-type": {pattern[1]}}; !reflect.DeepEqual(got, want) {
			t.Errorf("rule %s matches %v, want %v", rule, got, want)
		}
		if out.State != "ENABLED" {
			t.Errorf("rule %s is %s, want ENABLED", rule, out.State)
		}
		targets, err := api.events.ListTargetsByRule(c, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name)})
		if err != nil {
			t.Fatalf("rule %s's targets: %v", rule, err)
		}
		if len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].Arn) != queueARN {
			t.Errorf("rule %s sends to %+v, want only the queue %s", rule, targets.Targets, queueARN)
		}
	}
}

// unescapePolicy undoes IAM's URL-encoding of policy documents.
func unescapePolicy(t *testing.T, doc string) string {
	t.Helper()
	if strings.HasPrefix(doc, "{") {
		return doc
	}
	out, err := url.QueryUnescape(doc)
	if err != nil {
		t.Fatalf("unescape policy %q: %v", doc, err)
	}
	return out
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// templatePolicy is one AWS::IAM::ManagedPolicy of the template.
type templatePolicy struct {
	logicalID string
	name      string            // ManagedPolicyName, before substitution
	document  string            // the Fn::Sub's JSON, before substitution
	vars      map[string]string // the Fn::Sub's variables, each as the intrinsic it names
	node      *yaml.Node        // the PolicyDocument, for motoTemplate to replace
	varsNode  *yaml.Node
}

func loadTemplate(t *testing.T) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(mustRead(t, templateFile)), &doc); err != nil {
		t.Fatalf("%s: %v", templateFile, err)
	}
	return &doc
}

// controllerPolicies finds the template's managed policies, whose documents are Fn::Sub of a
// JSON string, with or without variables.
func controllerPolicies(t *testing.T, doc *yaml.Node) []templatePolicy {
	t.Helper()
	resources := yamlPath(t, doc, "Resources")
	var out []templatePolicy
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, r := resources.Content[i].Value, resources.Content[i+1]
		if yamlPath(t, r, "Type").Value != "AWS::IAM::ManagedPolicy" {
			continue
		}
		p := templatePolicy{logicalID: id, name: yamlPath(t, r, "Properties", "ManagedPolicyName").Value, node: yamlPath(t, r, "Properties", "PolicyDocument")}
		switch n := p.node; {
		case n.Tag == "!Sub" && n.Kind == yaml.ScalarNode:
			p.document = n.Value
		case n.Tag == "!Sub" && n.Kind == yaml.SequenceNode && len(n.Content) == 2 && n.Content[1].Kind == yaml.MappingNode:
			p.document, p.varsNode, p.vars = n.Content[0].Value, n.Content[1], map[string]string{}
			for j := 0; j+1 < len(p.varsNode.Content); j += 2 {
				v := p.varsNode.Content[j+1]
				p.vars[p.varsNode.Content[j].Value] = v.Tag + " " + v.Value
			}
		default:
			t.Fatalf("%s's PolicyDocument is not an Fn::Sub of a JSON string", id)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no AWS::IAM::ManagedPolicy", templateFile)
	}
	return out
}

// motoTemplate is the template as moto can take it: each managed policy's document a mapping
// of Fn::Sub values rather than one Fn::Sub string (see the top of this file).
func motoTemplate(t *testing.T) string {
	t.Helper()
	doc := loadTemplate(t)
	for _, p := range controllerPolicies(t, doc) {
		var parsed any
		if err := json.Unmarshal([]byte(p.document), &parsed); err != nil {
			t.Fatalf("%s's document: %v", p.logicalID, err)
		}
		*p.node = *subEachValue(t, parsed, p.varsNode)
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatalf("write the template for moto: %v", err)
	}
	return string(out)
}

// subEachValue turns a policy document into YAML whose strings are each an Fn::Sub with vars;
// ${ClusterName} in a key, where CloudFormation substitutes nothing, is put in here.
func subEachValue(t *testing.T, v any, vars *yaml.Node) *yaml.Node {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			key := strings.ReplaceAll(k, "${ClusterName}", stackCluster)
			if strings.Contains(key, "${") {
				t.Fatalf("policy key %s needs a substitution the test does not make", k)
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, subEachValue(t, v[k], vars))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range v {
			n.Content = append(n.Content, subEachValue(t, e, vars))
		}
		return n
	case string:
		scalar := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
		switch {
		case !strings.Contains(v, "${"):
			return scalar
		case vars == nil:
			scalar.Tag = "!Sub"
			return scalar
		default:
			return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!Sub", Content: []*yaml.Node{scalar, vars}}
		}
	}
	t.Fatalf("policy value %v (%T) is neither a string, a list nor a mapping", v, v)
	return nil
}

// yamlPath follows mapping keys from n.
func yamlPath(t *testing.T, n *yaml.Node, keys ...string) *yaml.Node {
	t.Helper()
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	for i, key := range keys {
		var next *yaml.Node
		for j := 0; n.Kind == yaml.MappingNode && j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == key {
				next = n.Content[j+1]
			}
		}
		if next == nil {
			t.Fatalf("%s has no %s", templateFile, strings.Join(keys[:i+1], "."))
		}
		n = next
	}
	return n
}

// yamlPlain turns YAML into maps, lists and strings; a short-form intrinsic (!Ref x) becomes
// a one-key map ({"!Ref": x}).
func yamlPlain(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = yamlPlain(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		l := []any{}
		for _, e := range n.Content {
			l = append(l, yamlPlain(e))
		}
		v = l
	default:
		v = n.Value
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return map[string]any{n.Tag: v}
	}
	return v
}

// stringList is IAM's "one string or a list of them", for the trust policy IAM hands back.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

// readPolicy substitutes vars (none when nil) into a policy's text and parses it with
// lab/iampolicy, which refuses what it does not model (a Principal, an unknown condition
// operator, a placeholder left over), so the evaluation below never guesses.
func readPolicy(t *testing.T, what, text string, vars map[string]string) *iampolicy.Policy {
	t.Helper()
	if vars != nil {
		text = substitute(t, what, text, vars)
	}
	doc, err := iampolicy.Parse([]byte(text))
	if err != nil {
		t.Fatalf("policy %s: %v", what, err)
	}
	if doc.Version != "2012-10-17" {
		t.Errorf("policy %s has version %q, want 2012-10-17", what, doc.Version)
	}
	return doc
}

// substitute does what Fn::Sub does (iampolicy.Substitute); a name with no value fails the test.
func substitute(t *testing.T, what, s string, vars map[string]string) string {
	t.Helper()
	out, err := iampolicy.Substitute(s, vars)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return out
}

func compactSize(t *testing.T, doc *iampolicy.Policy) int {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// compareStatements matches statements by Sid, which must be there and unique.
func compareStatements(t *testing.T, what string, got, want []iampolicy.Statement) {
	t.Helper()
	bySid := func(list []iampolicy.Statement, whose string) map[string]iampolicy.Statement {
		m := map[string]iampolicy.Statement{}
		for _, s := range list {
			if _, dup := m[s.Sid]; dup || s.Sid == "" {
				t.Errorf("%s: Sid %q is empty or not unique", whose, s.Sid)
			}
			m[s.Sid] = s
		}
		return m
	}
	g, w := bySid(got, what), bySid(want, policyFile)
	for _, sid := range slices.Sorted(maps.Keys(w)) {
		switch gs, ok := g[sid]; {
		case !ok:
			t.Errorf("%s lack statement %s of %s", what, sid, policyFile)
		case !reflect.DeepEqual(gs, w[sid]):
			t.Errorf("%s say statement %s differently:\n got  %+v\n want %+v", what, sid, gs, w[sid])
		}
	}
	for _, sid := range slices.Sorted(maps.Keys(g)) {
		if _, ok := w[sid]; !ok {
			t.Errorf("%s have statement %s, which %s lacks", what, sid, policyFile)
		}
	}
}

// iamCall is one authorisation IAM makes: an action on a resource, with the condition keys
// the request carries (aws:RequestTag/…, aws:ResourceTag/…, ec2:CreateAction, …).
type iamCall struct {
	action, resource string
	keys             map[string]string
}

// request is the call as lab/iampolicy evaluates it: each key with its one value.
func (c iamCall) request() iampolicy.Request {
	context := map[string][]string{}
	for k, v := range c.keys {
		context[k] = []string{v}
	}
	return iampolicy.Request{Action: c.action, Resource: c.resource, Context: context}
}

// Every call Nodewright makes is allowed by some statement of iam/controller-policy.json, and
// the policy allows no action that none of these calls needs.
func TestCloudFormationControllerPolicyAllowsEveryCallNodewrightMakes(t *testing.T) {
	policy := readPolicy(t, policyFile, mustRead(t, policyFile), stackValues(stackCluster))
	exercised := map[string]bool{}
	for _, tc := range nodewrightCalls() {
		t.Run(tc.name, func(t *testing.T) {
			if d := policy.Evaluate(tc.call.request()); !d.Allowed {
				t.Errorf("no statement allows %s on %s with %v: %s", tc.call.action, tc.call.resource, tc.call.keys, d.Reason())
			}
		})
		exercised[strings.ToLower(tc.call.action)] = true
	}
	for _, s := range policy.Statement {
		for _, a := range s.Action {
			if !exercised[strings.ToLower(a)] {
				t.Errorf("statement %s allows %s, which no call of Nodewright's needs", s.Sid, a)
			}
		}
	}
}

// Nodewright can touch only what it made for this cluster: not Karpenter's instances, launch
// templates or instance profiles in the same cluster, not another cluster's, and no tag on
// anything after its creation.
func TestCloudFormationControllerPolicyStopsAtWhatNodewrightOwns(t *testing.T) {
	policy := readPolicy(t, policyFile, mustRead(t, policyFile), stackValues(stackCluster))
	for _, tc := range refusedCalls() {
		t.Run(tc.name, func(t *testing.T) {
			if d := policy.Evaluate(tc.call.request()); d.Allowed {
				t.Errorf("statement %s allows %s on %s with %v", d.Statement, tc.call.action, tc.call.resource, tc.call.keys)
			}
		})
	}
	cluster := "aws:ResourceTag/" + activities.ClusterTagKey(stackCluster)
	for _, s := range policy.Statement {
		if s.MatchesAction("ec2:TerminateInstances") {
			if !slices.Equal(s.Condition["StringEquals"][cluster], []string{"owned"}) {
				t.Errorf("statement %s allows ec2:TerminateInstances without the condition %s=owned", s.Sid, cluster)
			}
			if !slices.Equal(s.Condition["Null"]["aws:ResourceTag/"+karpenterNodeClassTag], []string{"true"}) {
				t.Errorf("statement %s allows ec2:TerminateInstances on instances tagged %s, Karpenter's", s.Sid, karpenterNodeClassTag)
			}
		}
		if s.MatchesAction("ec2:CreateTags") && len(s.Condition["StringEquals"]["ec2:CreateAction"]) == 0 {
			t.Errorf("statement %s allows ec2:CreateTags outside the call that creates the resource", s.Sid)
		}
	}
}

// karpenterNodeClassTag is on everything Karpenter's AWS provider launches.
const karpenterNodeClassTag = "karpenter.k8s.aws/ec2nodeclass"

type namedCall struct {
	name string
	call iamCall
}

// nodewrightCalls are the calls of activities/*.go and worker/awsclients.go, with the tags
// Nodewright writes. A CreateFleet is authorised against every resource it makes or uses, and
// against RunInstances too.
func nodewrightCalls() []namedCall {
	instance, template, profile := nodewrightInstanceTags(), nodewrightTemplateTags(), nodewrightProfileTags()
	var out []namedCall
	add := func(action, what, resource string, keys ...map[string]string) {
		out = append(out, namedCall{action + " " + what, iamCall{action, resource, mergeKeys(keys...)}})
	}
	for _, action := range []string{"ec2:CreateFleet", "ec2:RunInstances"} {
		createAction := map[string]string{"ec2:CreateAction": strings.TrimPrefix(action, "ec2:")}
		for _, kind := range []string{"fleet", "instance", "volume", "network-interface", "spot-instances-request"} {
			add(action, "makes a tagged "+kind, ec2ARN(kind), requestTags(instance))
			add("ec2:CreateTags", "tags the "+kind+" "+action+" makes", ec2ARN(kind), requestTags(instance), createAction)
		}
		for _, kind := range []string{"subnet", "security-group"} {
			add(action, "uses a "+kind, ec2ARN(kind), requestTags(instance))
		}
		for _, kind := range []string{"image", "snapshot"} {
			add(action, "uses the "+kind, "arn:aws:ec2:"+stackRegion+"::"+kind+"/"+kind+"-0123456789abcdef0", requestTags(instance))
		}
		add(action, "uses a launch template Nodewright made", ec2ARN("launch-template"), requestTags(instance), resourceTags(template))
	}
	lt := ec2ARN("launch-template")
	add("ec2:CreateLaunchTemplate", "makes a tagged template", lt, requestTags(template))
	add("ec2:CreateTags", "tags the template CreateLaunchTemplate makes", lt, requestTags(template), map[string]string{"ec2:CreateAction": "CreateLaunchTemplate"})
	add("ec2:DeleteLaunchTemplate", "deletes a template Nodewright made", lt, resourceTags(template))
	add("ec2:TerminateInstances", "ends an instance Nodewright launched", ec2ARN("instance"), resourceTags(instance))
	for _, action := range []string{"DescribeInstances", "DescribeInstanceTypes", "DescribeInstanceTypeOfferings", "DescribeLaunchTemplates",
		"DescribeSubnets", "DescribeSecurityGroups", "DescribeImages", "DescribeAvailabilityZones", "DescribeSpotPriceHistory"} {
		add("ec2:"+action, "in the cluster's region", "*", map[string]string{"aws:RequestedRegion": stackRegion})
	}
	add("ssm:GetParameter", "reads an EKS AMI alias", "arn:aws:ssm:"+stackRegion+"::parameter/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/recommended/image_id")
	add("pricing:GetProducts", "reads prices", "*")
	for _, action := range []string{"sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"} {
		add(action, "on the interruption queue", "arn:aws:sqs:"+stackRegion+":"+stackAccount+":"+stackCluster)
	}
	add("iam:PassRole", "passes the node role to EC2", "arn:aws:iam::"+stackAccount+":role/NodewrightNodeRole-lab", map[string]string{"iam:PassedToService": "ec2.amazonaws.com"})
	ours := profileARN("nodewright/lab_0123456789abcdef")
	add("iam:CreateInstanceProfile", "makes a tagged profile", ours, requestTags(profile))
	add("iam:TagInstanceProfile", "tags a profile Nodewright made", ours, resourceTags(profile), requestTags(profile))
	for _, action := range []string{"iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"} {
		add(action, "on a profile Nodewright made", ours, resourceTags(profile))
	}
	add("iam:GetInstanceProfile", "reads the profile a class names in spec.instanceProfile", profileARN("my-nodes"))
	add("iam:ListInstanceProfiles", "lists profiles", "*")
	add("iam:GetRole", "checks that a class's new spec.role exists before swapping it in", "arn:aws:iam::"+stackAccount+":role/NodewrightNodeRole-lab")
	add("eks:DescribeCluster", "reads the cluster's endpoint", "arn:aws:eks:"+stackRegion+":"+stackAccount+":cluster/"+stackCluster)
	return out
}

// refusedCalls are calls Nodewright must not be able to make.
func refusedCalls() []namedCall {
	instance, template, profile := nodewrightInstanceTags(), nodewrightTemplateTags(), nodewrightProfileTags()
	karpenter := map[string]string{
		activities.ClusterTagKey(stackCluster): "owned", activities.TagEKSClusterName: stackCluster,
		"karpenter.sh/nodepool": "default", "karpenter.sh/nodeclaim": "default-k8rpt", karpenterNodeClassTag: "default",
	}
	otherCluster := maps.Clone(instance)
	delete(otherCluster, activities.ClusterTagKey(stackCluster))
	otherCluster[activities.ClusterTagKey("prod")] = "owned"
	otherRegion := maps.Clone(profile)
	otherRegion["topology.kubernetes.io/region"] = "us-west-2"
	karpenterProfile := map[string]string{activities.ClusterTagKey(stackCluster): "owned", "topology.kubernetes.io/region": stackRegion, karpenterNodeClassTag: "default"}
	asKarpenter := maps.Clone(instance)
	asKarpenter[karpenterNodeClassTag] = "default"

	return []namedCall{
		{"terminate an instance Karpenter launched in the same cluster", iamCall{"ec2:TerminateInstances", ec2ARN("instance"), resourceTags(karpenter)}},
		{"terminate an instance of another cluster", iamCall{"ec2:TerminateInstances", ec2ARN("instance"), resourceTags(otherCluster)}},
		{"terminate an instance with no tags", iamCall{"ec2:TerminateInstances", ec2ARN("instance"), nil}},
		{"tag a running instance of its own", iamCall{"ec2:CreateTags", ec2ARN("instance"), mergeKeys(resourceTags(instance), requestTags(map[string]string{"Name": "x"}))}},
		{"tag a running Karpenter instance", iamCall{"ec2:CreateTags", ec2ARN("instance"), mergeKeys(resourceTags(karpenter), requestTags(instance))}},
		{"launch an instance tagged as Karpenter's", iamCall{"ec2:CreateFleet", ec2ARN("instance"), requestTags(asKarpenter)}},
		{"launch from Karpenter's launch template", iamCall{"ec2:CreateFleet", ec2ARN("launch-template"), mergeKeys(requestTags(instance), resourceTags(karpenter))}},
		{"launch into another cluster", iamCall{"ec2:RunInstances", ec2ARN("instance"), requestTags(otherCluster)}},
		{"delete Karpenter's launch template", iamCall{"ec2:DeleteLaunchTemplate", ec2ARN("launch-template"), resourceTags(karpenter)}},
		{"delete a launch template with no tags", iamCall{"ec2:DeleteLaunchTemplate", ec2ARN("launch-template"), nil}},
		{"delete Karpenter's instance profile", iamCall{"iam:DeleteInstanceProfile", profileARN("lab_karpenter"), resourceTags(karpenterProfile)}},
		{"take the role out of a profile made in another region", iamCall{"iam:RemoveRoleFromInstanceProfile", profileARN("nodewright/lab_0"), resourceTags(otherRegion)}},
		{"create an instance profile without the class tag", iamCall{"iam:CreateInstanceProfile", profileARN("nodewright/lab_0"), requestTags(template)}},
		{"pass a role other than the node role", iamCall{"iam:PassRole", "arn:aws:iam::" + stackAccount + ":role/Admin", map[string]string{"iam:PassedToService": "ec2.amazonaws.com"}}},
		{"pass the node role to another service", iamCall{"iam:PassRole", "arn:aws:iam::" + stackAccount + ":role/NodewrightNodeRole-lab", map[string]string{"iam:PassedToService": "lambda.amazonaws.com"}}},
		{"read an SSM parameter outside /aws/service", iamCall{"ssm:GetParameter", "arn:aws:ssm:" + stackRegion + ":" + stackAccount + ":parameter/lab/db-password", nil}},
		{"describe instances in another region", iamCall{"ec2:DescribeInstances", "*", map[string]string{"aws:RequestedRegion": "us-west-2"}}},
		{"describe another EKS cluster", iamCall{"eks:DescribeCluster", "arn:aws:eks:" + stackRegion + ":" + stackAccount + ":cluster/prod", nil}},
		{"read another queue", iamCall{"sqs:ReceiveMessage", "arn:aws:sqs:" + stackRegion + ":" + stackAccount + ":prod", nil}},
	}
}

// nodewrightInstanceTags are the tags of a launched instance, its volumes and its fleet.
func nodewrightInstanceTags() map[string]string {
	return map[string]string{
		activities.ClusterTagKey(stackCluster): "owned", activities.TagEKSClusterName: stackCluster,
		activities.TagNodePool: "default", activities.TagNodeClaim: "default-x7k2p", activities.TagWorkflowID: "node/default-x7k2p", "Name": "default-x7k2p",
	}
}

// nodewrightTemplateTags are the tags of a launch template made for the class default.
func nodewrightTemplateTags() map[string]string {
	return map[string]string{activities.ClusterTagKey(stackCluster): "owned", activities.TagEKSClusterName: stackCluster, activities.TagNodeClass: "default"}
}

// nodewrightProfileTags are the tags of the instance profile made for the class default.
func nodewrightProfileTags() map[string]string {
	tags := nodewrightTemplateTags()
	tags["topology.kubernetes.io/region"] = stackRegion
	return tags
}

func ec2ARN(kind string) string {
	return "arn:aws:ec2:" + stackRegion + ":" + stackAccount + ":" + kind + "/" + kind + "-0123456789abcdef0"
}

func profileARN(pathAndName string) string {
	return "arn:aws:iam::" + stackAccount + ":instance-profile/" + pathAndName
}

func requestTags(tags map[string]string) map[string]string {
	return prefixKeys("aws:RequestTag/", tags)
}
func resourceTags(tags map[string]string) map[string]string {
	return prefixKeys("aws:ResourceTag/", tags)
}

func prefixKeys(prefix string, tags map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		out[prefix+k] = v
	}
	return out
}

func mergeKeys(keys ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		maps.Copy(out, k)
	}
	return out
}
