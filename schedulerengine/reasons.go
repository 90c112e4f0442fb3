package schedulerengine

import (
	"fmt"
	"slices"
	"strings"
)

// reasonKind names the filter that turned a pod away. Kinds are ordered as the filter chain
// runs, so a higher kind means the pod got further.
type reasonKind int

const (
	reasonTaints reasonKind = iota + 1
	reasonRequirements
	reasonInstanceTypes
	reasonTopology
	reasonResources
	reasonLimits
	reasonMinValues
)

// rejection says why a pod cannot join a claim or node. Its sentences are built only when
// asked for, since most rejections (a full claim passed over during first-fit) are never
// shown to anyone.
type rejection struct {
	kind reasonKind
	pool string
	// explain is the full sentence for this pool.
	explain func() string
	// culprit, when set, names the pod's own constraint at fault independently of the pool
	// (e.g. "nodeSelector kubernetes.io/arch=s390x"), so the same failure in every pool can
	// be told once.
	culprit func() string
}

func (r *rejection) Error() string { return r.explain() }

// furthest returns whichever rejection got further through the chain, preferring a.
func furthest(a, b *rejection) *rejection {
	if a == nil || (b != nil && b.kind > a.kind) {
		return b
	}
	return a
}

// summarize turns each pool's rejection (in pool order) into one sentence for the Plan.
func summarize(rejections []*rejection) string {
	switch {
	case len(rejections) == 0:
		return "no NodePool to launch a node from, and no existing node fits"
	case allOfKind(rejections, reasonTaints):
		return fmt.Sprintf("no NodePool's taints are tolerated (%s)", joinExplanations(rejections))
	case allOfKind(rejections, reasonInstanceTypes):
		if culprit := commonCulprit(rejections); culprit != "" {
			return culprit + " matches no instance type in any NodePool"
		}
	}
	return joinExplanations(rejections)
}

func allOfKind(rejections []*rejection, kind reasonKind) bool {
	for _, r := range rejections {
		if r.kind != kind {
			return false
		}
	}
	return true
}

func commonCulprit(rejections []*rejection) string {
	common := ""
	for i, r := range rejections {
		if r.culprit == nil {
			return ""
		}
		c := r.culprit()
		if c == "" || (i > 0 && c != common) {
			return ""
		}
		common = c
	}
	return common
}

// joinExplanations tells each distinct sentence once: a cluster limit turns every pool away
// with the same one.
func joinExplanations(rejections []*rejection) string {
	parts := make([]string, 0, len(rejections))
	for _, r := range rejections {
		if e := r.explain(); !slices.Contains(parts, e) {
			parts = append(parts, e)
		}
	}
	return strings.Join(parts, "; ")
}
