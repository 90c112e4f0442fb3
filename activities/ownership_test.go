package activities

import (
	"testing"

	"go.temporal.io/sdk/converter"
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
