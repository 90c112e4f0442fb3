package catalog

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
)

// Figures of Karpenter's AWS provider and of the EKS AMIs' bootstrap, which its formulas
// reproduce (pkg/providers/instancetype/types.go).
const (
	// DefaultVMMemoryOverheadPercent is Karpenter's --vm-memory-overhead-percent: the share of a
	// type's memory the hypervisor keeps, so the OS never reports it.
	DefaultVMMemoryOverheadPercent = 0.075
	// DefaultRootVolumeGiB is the root (ephemeral) volume of the AMI families' default block
	// device mappings.
	DefaultRootVolumeGiB = 20
	// PrefixDelegationMaxPods is the pod count to use when the VPC CNI hands out prefixes,
	// which the ENI × address formula does not bound.
	PrefixDelegationMaxPods = 110
	// gravitonCMAMiB is the memory Graviton kernels reserve for the contiguous memory allocator.
	gravitonCMAMiB = 64
	// Hard eviction signals that take from allocatable, and their defaults in the AMIs.
	signalMemoryAvailable = "memory.available"
	signalNodeFSAvailable = "nodefs.available"
	defaultEvictionMemory = "100Mi"
	defaultEvictionNodeFS = "10%"
)

// KubeletSettings are what sizes a node beyond its instance type: the EC2NodeClass's kubelet
// settings, root volume and AMI family, and Karpenter's own options. The zero value is
// Karpenter's default AL2023 node, the one its documented allocatable figures describe.
type KubeletSettings struct {
	// AMIFamily picks the bootstrap's defaults: "Bottlerocket" reserves kube memory for the
	// pods it runs and has no podsPerCore; any other family (AL2023, AL2, Custom, "") reserves
	// it for the ENI-limited pods whatever maxPods says, as nodeadm does.
	AMIFamily   string
	MaxPods     *int32
	PodsPerCore *int32
	// KubeReserved replaces the default kube-reserved of each resource it names;
	// SystemReserved comes on top; EvictionHard replaces the default threshold of each signal
	// it names (memory.available, nodefs.available: a quantity or a percentage of capacity).
	KubeReserved   map[string]string
	SystemReserved map[string]string
	EvictionHard   map[string]string
	// RootVolume is the volume ephemeral storage lives on; nil is DefaultRootVolumeGiB.
	RootVolume *resource.Quantity
	// VMMemoryOverheadPercent is the share of memory the OS never sees; 0 is
	// DefaultVMMemoryOverheadPercent.
	VMMemoryOverheadPercent float64
	// PrefixDelegation makes the default pod count PrefixDelegationMaxPods rather than the
	// ENI-limited one.
	PrefixDelegation bool
}

// NodeResources is the capacity and allocatable a node of type t reports under k, by
// Karpenter's formulas: memory less the VM overhead (and Graviton's CMA), ephemeral storage
// from the root volume, pods from maxPods or the ENIs, and allocatable = capacity −
// kube-reserved − system-reserved − hard eviction thresholds, never below zero. GPUs and
// accelerators come as their device plugins advertise them.
func NodeResources(t Type, k KubeletSettings) (capacity, allocatable corev1.ResourceList, err error) {
	reserved, err := k.parse()
	if err != nil {
		return nil, nil, err
	}
	pods := k.pods(t)
	capacity = corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(t.VCPU), resource.DecimalSI),
		corev1.ResourceMemory:           k.memory(t),
		corev1.ResourceEphemeralStorage: k.rootVolume(),
		corev1.ResourcePods:             *resource.NewQuantity(pods, resource.DecimalSI),
	}
	overhead, err := k.overhead(t, capacity, reserved)
	if err != nil {
		return nil, nil, err
	}
	allocatable = corev1.ResourceList{}
	for name, q := range capacity {
		left := q.DeepCopy()
		if o, ok := overhead[name]; ok {
			left.Sub(o)
		}
		if left.Sign() < 0 {
			left = *resource.NewQuantity(0, q.Format)
		}
		allocatable[name] = left
	}
	for name, q := range extendedResources(t) {
		capacity[name], allocatable[name] = q.DeepCopy(), q.DeepCopy()
	}
	return capacity, allocatable, nil
}

// parsedReservations are the settings' reservations as quantities.
type parsedReservations struct {
	kube, system corev1.ResourceList
}

// parse reads the reservations and checks the eviction thresholds, naming the setting a bad
// value is in.
func (k KubeletSettings) parse() (parsedReservations, error) {
	var out parsedReservations
	var err error
	if out.kube, err = quantities("kubeReserved", k.KubeReserved); err != nil {
		return out, err
	}
	if out.system, err = quantities("systemReserved", k.SystemReserved); err != nil {
		return out, err
	}
	for _, signal := range slices.Sorted(maps.Keys(k.EvictionHard)) {
		if _, err := EvictionThreshold(resource.Quantity{}, k.EvictionHard[signal]); err != nil {
			return out, fmt.Errorf("evictionHard %s: %w", signal, err)
		}
	}
	return out, nil
}

func quantities(field string, m map[string]string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		q, err := resource.ParseQuantity(m[name])
		if err != nil {
			return nil, fmt.Errorf("%s %s: %q is not a quantity (e.g. 100m, 1Gi)", field, name, m[name])
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("%s %s: %q is negative", field, name, m[name])
		}
		out[corev1.ResourceName(name)] = q
	}
	return out, nil
}

// memory is what the OS of a node of type t sees: the type's memory less Graviton's CMA and
// the VM overhead, rounded to whole MiB as Karpenter rounds it.
func (k KubeletSettings) memory(t Type) resource.Quantity {
	mib := t.MemoryMiB
	if len(t.Architectures) > 0 && t.Architectures[0] == "arm64" {
		mib -= gravitonCMAMiB
	}
	percent := k.VMMemoryOverheadPercent
	if percent == 0 {
		percent = DefaultVMMemoryOverheadPercent
	}
	bytes := mib << 20
	overheadMiB := int64(math.Ceil(float64(bytes) * percent / 1024 / 1024))
	return *resource.NewQuantity(bytes-overheadMiB<<20, resource.BinarySI)
}

func (k KubeletSettings) rootVolume() resource.Quantity {
	if k.RootVolume != nil {
		return k.RootVolume.DeepCopy()
	}
	return *resource.NewQuantity(DefaultRootVolumeGiB<<30, resource.BinarySI)
}

// pods is the node's pod capacity: maxPods, else PrefixDelegationMaxPods with prefix
// delegation, else the ENI-limited count; capped at podsPerCore × vCPUs where the family
// honours it.
func (k KubeletSettings) pods(t Type) int64 {
	count := ENILimitedPods(t)
	switch {
	case k.MaxPods != nil:
		count = int64(*k.MaxPods)
	case k.PrefixDelegation:
		count = PrefixDelegationMaxPods
	}
	if k.PodsPerCore != nil && *k.PodsPerCore > 0 && k.AMIFamily != awsv1.AMIFamilyBottlerocket {
		count = min(count, int64(*k.PodsPerCore)*int64(t.VCPU))
	}
	return max(count, 0) // the CRD refuses a negative maxPods; a class it never checked may not
}

// ENILimitedPods is how many pods the VPC CNI gives addresses to on a node of type t: the
// default network card's ENIs × (IPv4 addresses per ENI − 1) + 2. The catalog counts ENIs
// over all cards, which share them equally. A type without ENI figures keeps the catalog's
// max pods.
func ENILimitedPods(t Type) int64 {
	if t.MaxENI <= 0 || t.IPv4PerENI <= 0 {
		return int64(t.MaxPods)
	}
	enis := int64(t.MaxENI / max(t.NetworkCards, 1))
	return enis*int64(t.IPv4PerENI-1) + 2
}

// overhead is what kube-reserved, system-reserved and the hard eviction thresholds take from
// capacity, summed per resource.
func (k KubeletSettings) overhead(t Type, capacity corev1.ResourceList, reserved parsedReservations) (corev1.ResourceList, error) {
	kube := defaultKubeReserved(t.VCPU, k.kubeReservedPods(t, capacity))
	maps.Copy(kube, reserved.kube)
	eviction, err := k.evictionThresholds(capacity)
	if err != nil {
		return nil, err
	}
	total := corev1.ResourceList{}
	for _, rl := range []corev1.ResourceList{kube, reserved.system, eviction} {
		for name, q := range rl {
			sum := total[name]
			sum.Add(q)
			total[name] = sum
		}
	}
	return total, nil
}

// kubeReservedPods is the pod count kube-reserved memory is sized for: nodeadm sizes it for
// the ENI-limited pods before the class's maxPods applies; Bottlerocket for its max-pods.
func (k KubeletSettings) kubeReservedPods(t Type, capacity corev1.ResourceList) int64 {
	if k.AMIFamily == awsv1.AMIFamilyBottlerocket {
		return capacity.Pods().Value()
	}
	return ENILimitedPods(t)
}

// defaultKubeReserved is the AMIs' kube-reserved: CPU by the ladder (6% of the first core, 1%
// of the second, 0.5% of the next two, 0.25% of the rest), 11 MiB a pod + 255 MiB of memory
// and 1 GiB of disk.
func defaultKubeReserved(vcpu int, pods int64) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewMilliQuantity(KubeReservedCPU(vcpu), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity((11*pods+255)<<20, resource.BinarySI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(1<<30, resource.BinarySI),
	}
}

// KubeReservedCPU is the AMIs' default kube-reserved CPU in millicores for vcpu cores,
// computed step by step in floating point as Karpenter computes it.
func KubeReservedCPU(vcpu int) int64 {
	cpu := int64(vcpu) * 1000
	var reserved int64
	for _, step := range []struct {
		start, end int64
		percentage float64
	}{{0, 1000, 0.06}, {1000, 2000, 0.01}, {2000, 4000, 0.005}, {4000, 1 << 31, 0.0025}} {
		if cpu < step.start {
			continue
		}
		span := float64(step.end - step.start)
		if cpu < step.end {
			span = float64(cpu - step.start)
		}
		reserved += int64(span * step.percentage)
	}
	return reserved
}

// evictionThresholds are the hard eviction thresholds that hold back memory and disk: the
// AMIs' defaults, each replaced by the settings' own where they name its signal.
func (k KubeletSettings) evictionThresholds(capacity corev1.ResourceList) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for _, s := range []struct {
		signal, fallback string
		resource         corev1.ResourceName
	}{
		{signalMemoryAvailable, defaultEvictionMemory, corev1.ResourceMemory},
		{signalNodeFSAvailable, defaultEvictionNodeFS, corev1.ResourceEphemeralStorage},
	} {
		threshold, ok := k.EvictionHard[s.signal]
		if !ok {
			threshold = s.fallback
		}
		q, err := EvictionThreshold(capacity[s.resource], threshold)
		if err != nil {
			return nil, fmt.Errorf("evictionHard %s: %w", s.signal, err)
		}
		out[s.resource] = q
	}
	return out, nil
}

// EvictionThreshold is how much of capacity a hard eviction threshold keeps free: a quantity,
// or a percentage of capacity rounded up to a byte. 100% disables the signal, as in the kubelet.
func EvictionThreshold(capacity resource.Quantity, threshold string) (resource.Quantity, error) {
	if pct, ok := strings.CutSuffix(threshold, "%"); ok {
		p, err := strconv.ParseFloat(pct, 64)
		if err != nil || p < 0 || p > 100 {
			return resource.Quantity{}, fmt.Errorf("%q is not a percentage from 0%% to 100%%", threshold)
		}
		if p == 100 {
			p = 0
		}
		// Bounded: a float beyond int64 would convert to its minimum and free everything.
		kept := min(math.Ceil(capacity.AsApproximateFloat64()/100*p), math.MaxInt64/2)
		return *resource.NewQuantity(int64(kept), capacity.Format), nil
	}
	q, err := resource.ParseQuantity(threshold)
	if err != nil {
		return resource.Quantity{}, fmt.Errorf("%q is neither a quantity (100Mi) nor a percentage (10%%)", threshold)
	}
	if q.Sign() < 0 {
		return resource.Quantity{}, fmt.Errorf("%q is negative", threshold)
	}
	return q, nil
}
