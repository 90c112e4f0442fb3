package demo

import (
	"testing"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

func TestDemoNodePoolIsValidKarpenterYAML(t *testing.T) {
	pools, err := v1.LoadNodePools([]byte(NodePoolYAML))
	if err != nil {
		t.Fatalf("demo NodePool rejected: %v", err)
	}
	if len(pools) != 1 || pools[0].Name != "default" {
		t.Fatalf("got %d pools, want the one named default", len(pools))
	}
}
