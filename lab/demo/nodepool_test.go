package demo

import (
	"context"
	"testing"

	"github.com/nodewright/nodewright/apis/loader"
)

func TestDemoNodePoolIsValidKarpenterYAML(t *testing.T) {
	ld, err := loader.New()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ld.Load(context.Background(), []byte(NodePoolYAML))
	if err != nil {
		t.Fatalf("demo NodePool rejected: %v", err)
	}
	if len(m.NodePools) != 1 || m.NodePools[0].Name != "default" || len(m.NodeClasses) != 1 {
		t.Fatalf("got %d pools and %d classes, want the pool named default and its class", len(m.NodePools), len(m.NodeClasses))
	}
}
