package kubelet

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// ephemeralCapacity is the root volume every lab node reports.
const ephemeralCapacity = "20Gi"

// resources are the Node's capacity and allocatable: the instance type's, with the pods and
// reservations its user data sets.
func resources(it catalog.Type, cfg bootConfig) (capacity, allocatable corev1.ResourceList, err error) {
	cpu, err := resource.ParseQuantity(it.Allocatable.CPU)
	if err != nil {
		return nil, nil, fmt.Errorf("allocatable cpu %q: %w", it.Allocatable.CPU, err)
	}
	mem, err := resource.ParseQuantity(it.Allocatable.Memory)
	if err != nil {
		return nil, nil, fmt.Errorf("allocatable memory %q: %w", it.Allocatable.Memory, err)
	}
	eph, err := resource.ParseQuantity(it.Allocatable.EphemeralStorage)
	if err != nil {
		return nil, nil, fmt.Errorf("allocatable ephemeral storage %q: %w", it.Allocatable.EphemeralStorage, err)
	}
	pods, allocatablePods := podsOf(it, cfg)
	capacity = corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(it.VCPU), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(it.MemoryMiB*1024*1024, resource.BinarySI),
		corev1.ResourceEphemeralStorage: resource.MustParse(ephemeralCapacity),
		corev1.ResourcePods:             *resource.NewQuantity(pods, resource.DecimalSI),
	}
	allocatable = corev1.ResourceList{
		corev1.ResourceCPU:              cpu,
		corev1.ResourceMemory:           mem,
		corev1.ResourceEphemeralStorage: eph,
		corev1.ResourcePods:             *resource.NewQuantity(allocatablePods, resource.DecimalSI),
	}
	if err := applyReservations(allocatable, capacity, it, cfg); err != nil {
		return nil, nil, err
	}
	if it.GPU != nil && it.GPU.Count > 0 && strings.EqualFold(it.GPU.Manufacturer, "nvidia") {
		n := *resource.NewQuantity(int64(it.GPU.Count), resource.DecimalSI)
		capacity["nvidia.com/gpu"] = n
		allocatable["nvidia.com/gpu"] = n
	}
	if it.Accelerators != nil && it.Accelerators.Count > 0 && strings.EqualFold(it.Accelerators.Manufacturer, "aws") {
		n := *resource.NewQuantity(int64(it.Accelerators.Count), resource.DecimalSI)
		capacity["aws.amazon.com/neuron"] = n
		allocatable["aws.amazon.com/neuron"] = n
	}
	return capacity, allocatable, nil
}

// podsOf is the pod capacity: maxPods from user data, else the catalog's ENI-limited figure as
// nodeadm computes it, and never above podsPerCore × vCPUs when that is set, as in the kubelet.
func podsOf(it catalog.Type, cfg bootConfig) (capacity, allocatable int64) {
	capacity, allocatable = int64(it.MaxPods), int64(it.Allocatable.Pods)
	if cfg.MaxPods > 0 {
		capacity, allocatable = int64(cfg.MaxPods), int64(cfg.MaxPods)
	}
	if cfg.PodsPerCore > 0 {
		limit := int64(cfg.PodsPerCore) * int64(it.VCPU)
		capacity, allocatable = min(capacity, limit), min(allocatable, limit)
	}
	return capacity, allocatable
}

// applyReservations moves allocatable by what user data reserves. The catalog's allocatable is
// Karpenter's, computed from the AMIs' defaults (kube-reserved by the CPU ladder, 11 MiB a pod
// + 255 MiB and 1 GiB of disk; hard eviction at 100 MiB of memory and 10% of the disk). User
// data replaces those defaults key by key and adds systemReserved, so the defaults it replaces
// are given back and what it sets is taken:
// allocatable = catalog + defaults − (kubeReserved over defaults) − systemReserved − eviction.
func applyReservations(allocatable, capacity corev1.ResourceList, it catalog.Type, cfg bootConfig) error {
	if len(cfg.KubeReserved) == 0 && len(cfg.SystemReserved) == 0 && len(cfg.EvictionHard) == 0 {
		return nil
	}
	defaultKube := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewMilliQuantity(kubeReservedCPU(it.VCPU), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity((11*int64(it.MaxPods)+255)*1024*1024, resource.BinarySI),
		corev1.ResourceEphemeralStorage: resource.MustParse("1Gi"),
	}
	defaultEviction := map[corev1.ResourceName]string{corev1.ResourceMemory: "100Mi", corev1.ResourceEphemeralStorage: "10%"}
	signals := map[corev1.ResourceName]string{corev1.ResourceMemory: "memory.available", corev1.ResourceEphemeralStorage: "nodefs.available"}

	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		given := defaultKube[name].DeepCopy()
		taken := defaultKube[name].DeepCopy()
		if q, ok := cfg.KubeReserved[name]; ok {
			taken = q.DeepCopy()
		}
		if q, ok := cfg.SystemReserved[name]; ok {
			taken.Add(q)
		}
		if def, ok := defaultEviction[name]; ok {
			defQ, err := evictionReserve(def, capacity[name])
			if err != nil {
				return err
			}
			given.Add(defQ)
			threshold := def
			if v, ok := cfg.EvictionHard[signals[name]]; ok {
				threshold = v
			}
			q, err := evictionReserve(threshold, capacity[name])
			if err != nil {
				return fmt.Errorf("eviction threshold %s: %w", signals[name], err)
			}
			taken.Add(q)
		}
		q := allocatable[name]
		q.Add(given)
		q.Sub(taken)
		if q.Sign() < 0 {
			q = *resource.NewQuantity(0, q.Format)
		}
		allocatable[name] = q
	}
	return nil
}

// kubeReservedCPU is the AMIs' default kube-reserved CPU in millicores: 6% of the first core,
// 1% of the second, 0.5% of the next two and 0.25% of every core above four.
func kubeReservedCPU(vcpu int) int64 {
	cores := int64(vcpu) * 1000
	steps := []struct{ from, to, perTenThousand int64 }{{0, 1000, 600}, {1000, 2000, 100}, {2000, 4000, 50}, {4000, cores, 25}}
	var reserved int64
	for _, s := range steps {
		if cores > s.from {
			reserved += (min(cores, s.to) - s.from) * s.perTenThousand / 10000
		}
	}
	return reserved
}

// reservedResources parses a kubelet reservation (systemReserved, kubeReserved). The kubelet
// refuses to start on a quantity it cannot parse or a resource it cannot reserve.
func reservedResources(m map[string]string) (corev1.ResourceList, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := corev1.ResourceList{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		switch corev1.ResourceName(name) {
		case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, "pid":
		default:
			return nil, fmt.Errorf("cannot reserve %q resource", name)
		}
		q, err := resource.ParseQuantity(m[name])
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", name, m[name], err)
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("%s %q is negative", name, m[name])
		}
		out[corev1.ResourceName(name)] = q
	}
	return out, nil
}

// checkEvictionThresholds refuses what the kubelet refuses in evictionHard: an unknown signal,
// or a threshold that is neither a quantity nor a percentage.
func checkEvictionThresholds(m map[string]string) error {
	for _, signal := range slices.Sorted(maps.Keys(m)) {
		switch signal {
		case "memory.available", "allocatableMemory.available", "nodefs.available", "nodefs.inodesFree",
			"imagefs.available", "imagefs.inodesFree", "containerfs.available", "containerfs.inodesFree", "pid.available":
		default:
			return fmt.Errorf("unsupported eviction signal %q", signal)
		}
		if _, err := evictionReserve(m[signal], resource.Quantity{}); err != nil {
			return fmt.Errorf("%s: %w", signal, err)
		}
	}
	return nil
}

// evictionReserve is how much of capacity a hard eviction threshold keeps free: a quantity, or
// a percentage of capacity. The kubelet ignores 0% and 100%, so they keep nothing free.
func evictionReserve(threshold string, capacity resource.Quantity) (resource.Quantity, error) {
	if pct, ok := strings.CutSuffix(threshold, "%"); ok {
		f, err := strconv.ParseFloat(pct, 64)
		if err != nil || f < 0 || f > 100 {
			return resource.Quantity{}, fmt.Errorf("threshold %q is not a percentage", threshold)
		}
		if f == 100 {
			f = 0
		}
		return *resource.NewQuantity(int64(float64(capacity.Value())*f/100), capacity.Format), nil
	}
	q, err := resource.ParseQuantity(threshold)
	if err != nil {
		return resource.Quantity{}, fmt.Errorf("threshold %q: %w", threshold, err)
	}
	if q.Sign() < 0 {
		return resource.Quantity{}, fmt.Errorf("threshold %q is negative", threshold)
	}
	return q, nil
}
