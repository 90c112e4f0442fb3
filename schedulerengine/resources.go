package schedulerengine

import (
	"maps"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nodewright/nodewright/schedulerengine/packing"
)

// dims gives every resource name one slot in a vec, so the hot loops compare small integer
// slices instead of ResourceLists. cpu, memory and pods always come first; other names
// follow in sorted order, so a vec's layout depends only on which names the input uses.
type dims struct {
	names []corev1.ResourceName
	index map[corev1.ResourceName]int
}

const (
	dimCPU    = packing.CPU
	dimMemory = packing.Memory
	dimPods   = packing.Pods
)

func newDims(lists ...corev1.ResourceList) dims {
	extra := map[corev1.ResourceName]bool{}
	for _, rl := range lists {
		for name := range rl {
			extra[name] = true
		}
	}
	d := dims{names: []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods}}
	delete(extra, corev1.ResourceCPU)
	delete(extra, corev1.ResourceMemory)
	delete(extra, corev1.ResourcePods)
	d.names = append(d.names, slices.Sorted(maps.Keys(extra))...)
	d.index = make(map[corev1.ResourceName]int, len(d.names))
	for i, n := range d.names {
		d.index[n] = i
	}
	return d
}

// vec holds one amount per dim in milli-units (MilliValue), which keeps cpu exact and leaves
// room for petabytes of memory in an int64.
type vec []int64

func (d dims) vec(rl corev1.ResourceList) vec {
	v := make(vec, len(d.names))
	for name, q := range rl {
		if i, ok := d.index[name]; ok {
			v[i] = q.MilliValue()
		}
	}
	return v
}

func (d dims) list(v vec) corev1.ResourceList {
	rl := corev1.ResourceList{}
	for i, amount := range v {
		if amount != 0 {
			rl[d.names[i]] = quantity(d.names[i], amount)
		}
	}
	return rl
}

func quantity(name corev1.ResourceName, milli int64) resource.Quantity {
	format := resource.DecimalSI
	if name == corev1.ResourceMemory || name == corev1.ResourceEphemeralStorage {
		format = resource.BinarySI
	}
	if milli%1000 == 0 {
		return *resource.NewQuantity(milli/1000, format)
	}
	return *resource.NewMilliQuantity(milli, format)
}

func (v vec) plus(o vec) vec {
	out := make(vec, len(v))
	for i := range v {
		out[i] = v[i] + o[i]
	}
	return out
}

func (v vec) minus(o vec) vec {
	out := make(vec, len(v))
	for i := range v {
		out[i] = v[i] - o[i]
	}
	return out
}

// fitsIn reports whether every amount of v is within room.
func (v vec) fitsIn(room vec) bool {
	for i, need := range v {
		if need > room[i] {
			return false
		}
	}
	return true
}

// sumFitsIn reports whether v+extra is within room, without allocating the sum.
func (v vec) sumFitsIn(extra, room vec) bool {
	for i := range v {
		if v[i]+extra[i] > room[i] {
			return false
		}
	}
	return true
}

// raiseTo sets each amount of v to at least o's.
func (v vec) raiseTo(o vec) {
	for i := range v {
		v[i] = max(v[i], o[i])
	}
}

// humanAmount formats an amount for a person: cpu in cores, memory in Gi or Mi, counts plain.
func humanAmount(name corev1.ResourceName, milli int64) string {
	switch name {
	case corev1.ResourceCPU:
		return strconv.FormatFloat(float64(milli)/1000, 'f', -1, 64)
	case corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		bytes := float64(milli) / 1000
		const mi, gi = 1 << 20, 1 << 30
		if bytes >= gi {
			return strconv.FormatFloat(roundTo(bytes/gi, 2), 'f', -1, 64) + "Gi"
		}
		return strconv.FormatFloat(roundTo(bytes/mi, 2), 'f', -1, 64) + "Mi"
	default:
		q := quantity(name, milli)
		return q.String()
	}
}

func roundTo(x float64, places int) float64 {
	scale := 1.0
	for range places {
		scale *= 10
	}
	return float64(int64(x*scale+0.5)) / scale
}
