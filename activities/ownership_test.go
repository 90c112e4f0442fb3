package activities

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// An activity an older worker scheduled carries the bare string its argument was then.
func TestRequestsDecodeTheBareStringsOlderWorkersSent(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	tests := []struct {
		name string
		sent any
		into any
		want any
	}{
		{name: "a bare instance id is a TerminateRequest for it", sent: "i-9",
			into: &TerminateRequest{}, want: TerminateRequest{InstanceID: "i-9"}},
		{name: "a TerminateRequest reads back whole", sent: TerminateRequest{InstanceID: "i-9", WorkflowID: "node/c", NodeClaim: "c"},
			into: &TerminateRequest{}, want: TerminateRequest{InstanceID: "i-9", WorkflowID: "node/c", NodeClaim: "c"}},
		{name: "a bare node name is a DeleteNodeRequest for it", sent: "ip-10-0-0-1",
			into: &DeleteNodeRequest{}, want: DeleteNodeRequest{NodeName: "ip-10-0-0-1"}},
		{name: "a DeleteNodeRequest reads back whole", sent: DeleteNodeRequest{NodeName: "ip-10-0-0-1", InstanceID: "i-9"},
			into: &DeleteNodeRequest{}, want: DeleteNodeRequest{NodeName: "ip-10-0-0-1", InstanceID: "i-9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payloads, err := dc.ToPayloads(tt.sent)
			if err != nil {
				t.Fatalf("encode %v: %v", tt.sent, err)
			}
			if err := dc.FromPayloads(payloads, tt.into); err != nil {
				t.Fatalf("decode %v: %v", tt.sent, err)
			}
			var got any
			switch v := tt.into.(type) {
			case *TerminateRequest:
				got = *v
			case *DeleteNodeRequest:
				got = *v
			}
			if got != tt.want {
				t.Errorf("decoded %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestInstanceIDOfReadsAWSProviderIDs(t *testing.T) {
	for providerID, want := range map[string]string{
		"aws:///us-east-1a/i-0abc": "i-0abc",
		"aws:///i-0abc":            "i-0abc",
		"gce://project/zone/vm-1":  "",
		"":                         "",
	} {
		if got := InstanceIDOf(providerID); got != want {
			t.Errorf("InstanceIDOf(%q) = %q, want %q", providerID, got, want)
		}
	}
}

func TestVerifyInstanceRefusesAnInstanceThatIsNotTheClaims(t *testing.T) {
	check := InstanceCheck{InstanceID: "i-9", WorkflowID: "node/c", NodeClaim: "c"}
	tests := []struct {
		name        string
		described   *ec2.DescribeInstancesOutput
		describeErr error
		wantRefusal string
		wantErr     bool // retryable: EC2 could not answer
	}{
		{name: "the claim's instance passes", described: ownedRunning("i-9")},
		{name: "another workflow's instance is refused",
			described:   taggedInstance("i-9", ec2types.InstanceStateNameRunning, ClusterTagKey("lab"), "owned", TagWorkflowID, "node/d", TagNodeClaim, "c"),
			wantRefusal: "not launched by workflow node/c"},
		{name: "another cluster's instance is refused, terminated or not",
			described:   taggedInstance("i-9", ec2types.InstanceStateNameTerminated, ClusterTagKey("prod"), "owned", TagWorkflowID, "node/c", TagNodeClaim, "c"),
			wantRefusal: "lacks this cluster's tag"},
		{name: "an instance EC2 no longer knows passes: nothing can be done to it",
			describeErr: &smithy.GenericAPIError{Code: "InvalidInstanceID.NotFound"}},
		{name: "a describe that fails is retried, not a refusal",
			describeErr: &smithy.GenericAPIError{Code: "InternalError"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &EC2{API: &fakeEC2{describeOut: tt.described, describeErr: tt.describeErr}, ClusterName: "lab"}
			_, err := runActivity(t, e.VerifyInstance, check)
			if tt.wantErr {
				var appErr *temporal.ApplicationError
				if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
					t.Errorf("error = %v, want a retryable one", err)
				}
				return
			}
			assertRefusal(t, err, tt.wantRefusal)
		})
	}
}

func TestVerifyNodeRefusesANodeOfAnotherInstance(t *testing.T) {
	tests := []struct {
		name        string
		node        *corev1.Node
		instanceID  string
		wantRefusal string
	}{
		{name: "the instance's Node passes", node: node("n1", withProviderID("aws:///zone-a/i-1")), instanceID: "i-1"},
		{name: "a Node of another instance is refused", node: node("n1", withProviderID("aws:///zone-a/i-2")), instanceID: "i-1",
			wantRefusal: `node n1 has providerID "aws:///zone-a/i-2", not one of instance i-1`},
		{name: "a Node not yet given a providerID is refused", node: node("n1"), instanceID: "i-1", wantRefusal: "not one of instance i-1"},
		{name: "a check without an instance is refused, whatever the Node", node: node("n1"), wantRefusal: "names no instanceId"},
		{name: "a missing Node passes: nothing can be done to it", node: node("other"), instanceID: "i-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &Kube{Client: fake.NewClientset(tt.node)}
			_, err := runActivity(t, k.VerifyNode, NodeCheck{NodeName: "n1", InstanceID: tt.instanceID})
			assertRefusal(t, err, tt.wantRefusal)
		})
	}
}
