package activities

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// KubeletSettingsOf is what sizes the class's nodes beyond their instance type, read as
// Karpenter reads it: spec.kubelet, the root volume of spec.blockDeviceMappings and the AMI
// family.
func KubeletSettingsOf(class *awsv1.EC2NodeClass) catalog.KubeletSettings {
	family := class.Family()
	k := catalog.KubeletSettings{AMIFamily: family, RootVolume: rootVolume(class.Spec.BlockDeviceMappings, family)}
	if kc := class.Spec.Kubelet; kc != nil {
		k.MaxPods, k.PodsPerCore = kc.MaxPods, kc.PodsPerCore
		k.KubeReserved, k.SystemReserved, k.EvictionHard = kc.KubeReserved, kc.SystemReserved, kc.EvictionHard
	}
	return k
}

// rootVolume is the size of the volume ephemeral storage lives on, found as Karpenter finds
// it: the mapping marked rootVolume; for a Custom family the last mapping; else the mapping of
// the family's ephemeral device (/dev/xvdb on Bottlerocket, /dev/xvda otherwise). Nil, the
// families' default, when none gives a size.
func rootVolume(mappings []*awsv1.BlockDeviceMapping, family string) *resource.Quantity {
	sizeOf := func(m *awsv1.BlockDeviceMapping) *resource.Quantity {
		if m == nil || m.EBS == nil || m.EBS.VolumeSize == nil {
			return nil
		}
		// EC2 sizes volumes in whole GiB: the launch template rounds up, and so does the disk
		// the kubelet reports (100G is a 94Gi volume).
		gib := (m.EBS.VolumeSize.Value() + 1<<30 - 1) >> 30
		return resource.NewQuantity(gib<<30, resource.BinarySI)
	}
	for _, m := range mappings {
		if m != nil && m.RootVolume && sizeOf(m) != nil {
			return sizeOf(m)
		}
	}
	if len(mappings) == 0 {
		return nil
	}
	if family == awsv1.AMIFamilyCustom {
		return sizeOf(mappings[len(mappings)-1])
	}
	device := "/dev/xvda"
	if family == awsv1.AMIFamilyBottlerocket {
		device = "/dev/xvdb"
	}
	for _, m := range mappings {
		if m != nil && m.DeviceName != nil && *m.DeviceName == device {
			return sizeOf(m)
		}
	}
	return nil
}

// nodeSizes keeps the allocatable of each instance type under each kubelet sizing the pools'
// classes ask for, and which types' registered nodes were found to report otherwise. The
// zero value is ready to use.
type nodeSizes struct {
	mu     sync.Mutex
	byName map[string]catalog.Type
	// sized is by sizing (the JSON of its KubeletSettings), then type name.
	sized map[string]map[string]corev1.ResourceList
	// refused are the sizings already logged as refused; logged the types whose nodes were
	// logged as reporting another allocatable.
	refused, logged map[string]bool
}

// poolAllocatable is, per pool whose class is resolved, the allocatable of each type on the
// pool's nodes, for schedulerengine.Input.PoolAllocatable. A pool without a class, or whose
// class's settings cannot be read, keeps the catalog's figures.
func (p *Planner) poolAllocatable(pools []apisv1.NodePool, types []schedulerengine.InstanceType) map[string]map[string]corev1.ResourceList {
	if p.Classes == nil {
		return nil
	}
	s := &p.sizes
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byName = p.typeRecords() // EC2-only types are sized too
	if s.byName == nil {
		s.byName = catalog.Index(p.Catalog)
	}
	used := map[string]map[string]corev1.ResourceList{}
	out := map[string]map[string]corev1.ResourceList{}
	refused := map[string]bool{}
	for _, pool := range pools {
		name := pool.Spec.Template.Spec.NodeClassRef.Name
		class, ok := p.Classes.NodeClass(name)
		if !ok {
			continue
		}
		sized, err := s.sizing(KubeletSettingsOf(class), types, used)
		if err != nil {
			p.refusedSizing(name, err, refused)
			continue
		}
		out[pool.Name] = sized
	}
	s.sized = used      // sizings no pool asks for any more are let go
	s.refused = refused // and refusals of classes fixed or gone
	return out
}

// sizing returns the allocatable of each of types under k, computing the types not yet
// known, and marks the sizing used. Must be called with s.mu held.
func (s *nodeSizes) sizing(k catalog.KubeletSettings, types []schedulerengine.InstanceType, used map[string]map[string]corev1.ResourceList) (map[string]corev1.ResourceList, error) {
	raw, err := json.Marshal(k)
	if err != nil {
		return nil, fmt.Errorf("kubelet settings: %w", err)
	}
	key := string(raw)
	// Copy on write: a map handed out is read by Solve without the lock while another plan
	// or a disruption pass sizes more types.
	sized := maps.Clone(s.sized[key])
	if sized == nil {
		sized = map[string]corev1.ResourceList{}
	}
	for _, it := range types {
		if _, done := sized[it.Name]; done {
			continue
		}
		t, known := s.byName[it.Name]
		if !known {
			continue
		}
		_, allocatable, err := catalog.NodeResources(t, k)
		if err != nil {
			return nil, err
		}
		sized[it.Name] = allocatable
	}
	if s.sized == nil {
		s.sized = map[string]map[string]corev1.ResourceList{}
	}
	s.sized[key], used[key] = sized, sized
	return sized, nil
}

// refusedSizing logs, once per class and error, a class whose kubelet settings the planner
// cannot size nodes by. Must be called with p.sizes.mu held.
func (p *Planner) refusedSizing(class string, err error, refused map[string]bool) {
	s := &p.sizes
	key := class + "\x00" + err.Error()
	refused[key] = true
	if s.refused[key] {
		return
	}
	p.logger().Warn("EC2NodeClass kubelet settings do not size nodes; planning its pools' nodes with the catalog's allocatable until they are fixed",
		"ec2nodeclass", class, "error", "spec.kubelet "+err.Error())
}

// noteAllocatableDrift logs, once per instance type, a registered node of a pool whose
// allocatable differs from the one planned for its type: the plan keeps the node's own figure
// for it, but new nodes of the type are planned from the computed one. Extended resources are
// left out: device plugins advertise them after registration.
func (p *Planner) noteAllocatableDrift(nodes []corev1.Node, sized map[string]map[string]corev1.ResourceList) {
	p.sizes.mu.Lock()
	defer p.sizes.mu.Unlock()
	for i := range nodes {
		n := &nodes[i]
		pool, typ := n.Labels[apisv1.LabelNodePool], n.Labels[apisv1.LabelInstanceType]
		planned, ok := sized[pool][typ]
		if !ok || p.sizes.logged[typ] || len(n.Status.Allocatable) == 0 {
			continue
		}
		if differing := differingResources(planned, n.Status.Allocatable); len(differing) > 0 {
			if p.sizes.logged == nil {
				p.sizes.logged = map[string]bool{}
			}
			p.sizes.logged[typ] = true
			p.logger().Warn("a node reports another allocatable than the one planned for its instance type; it is planned from its own",
				"instanceType", typ, "node", n.Name, "nodepool", pool,
				"planned", quantitiesOf(planned, differing), "reported", quantitiesOf(n.Status.Allocatable, differing))
		}
	}
}

// differingResources are the kubelet-sized resources whose quantity differs between a and b.
func differingResources(a, b corev1.ResourceList) []corev1.ResourceName {
	var out []corev1.ResourceName
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourcePods} {
		qa, inA := a[name]
		qb, inB := b[name]
		if inA != inB || qa.Cmp(qb) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// quantitiesOf writes the named resources of rl as "cpu=1930m memory=6903Mi".
func quantitiesOf(rl corev1.ResourceList, names []corev1.ResourceName) string {
	parts := make([]string, 0, len(names))
	for _, name := range slices.Sorted(slices.Values(names)) {
		q, ok := rl[name]
		if !ok {
			parts = append(parts, string(name)+"=none")
			continue
		}
		parts = append(parts, string(name)+"="+q.String())
	}
	return strings.Join(parts, " ")
}

func (p *Planner) logger() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}
