package schedulerengine

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// podClass is what placement needs from a pod besides its size. Pods with equal node
// selectors, required node affinity and tolerations share one class, so the checks that
// depend only on those (taints per pool, requirements, instance-type narrowing for a new
// claim) run once per class instead of once per pod.
type podClass struct {
	// terms are the alternatives of required node affinity (any one may be met), each
	// already combined with the nodeSelector. A pod without node affinity has one term.
	terms       []*podTerm
	tolerations []corev1.Toleration
	// err is set when the pod's node affinity cannot be evaluated; such a pod fits nowhere.
	err error
	// taintVerdicts caches, per pool, the pool taint the class does not tolerate (nil if none).
	taintVerdicts map[*poolState]*corev1.Taint
}

// podTerm is one way a pod's node requirements can be met.
type podTerm struct {
	reqs scheduling.Requirements
	// fields are matchFields requirements (only metadata.name exists), which only an
	// existing node can satisfy.
	fields scheduling.Requirements
	// origins says, per label key, how the pod asked for it, e.g. "nodeSelector
	// kubernetes.io/arch=s390x", so reasons quote the pod's own words.
	origins map[string]string
}

const fieldNodeName = "metadata.name"

// podClassKey identifies a pod's class given the preferred node affinity terms in force;
// pods with the same key are interchangeable for every node-requirement check.
func podClassKey(p *corev1.Pod, preferred []corev1.NodeSelectorTerm) string {
	var required *corev1.NodeSelector
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		required = a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	if len(p.Spec.NodeSelector) == 0 && required == nil && len(p.Spec.Tolerations) == 0 && len(preferred) == 0 {
		return "" // the common case, without paying for JSON
	}
	// json.Marshal sorts map keys, so the key does not depend on map order.
	b, err := json.Marshal(struct {
		S map[string]string
		A *corev1.NodeSelector
		T []corev1.Toleration
		P []corev1.NodeSelectorTerm
	}{p.Spec.NodeSelector, required, p.Spec.Tolerations, preferred})
	if err != nil {
		// These types always marshal; fall back to a key that is merely unshared.
		return "unshared/" + PodKey(p)
	}
	return string(b)
}

// newPodClass builds the class of a pod whose preferred node affinity terms in force are
// treated as required: they are ANDed into every required term.
func newPodClass(p *corev1.Pod, preferred []corev1.NodeSelectorTerm) *podClass {
	c := &podClass{tolerations: p.Spec.Tolerations, taintVerdicts: map[*poolState]*corev1.Taint{}}
	base, origins := selectorRequirements(p.Spec.NodeSelector)
	for _, term := range preferred {
		t, err := affinityTerm(base, origins, corev1.NodeSelectorTerm{MatchExpressions: term.MatchExpressions}, "preferred node affinity ")
		if err != nil {
			continue // a preference that cannot be evaluated is no preference
		}
		base, origins = t.reqs, t.origins
	}
	var required *corev1.NodeSelector
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		required = a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	if required == nil {
		c.terms = []*podTerm{{reqs: base, origins: origins}}
		return c
	}
	for i, term := range required.NodeSelectorTerms {
		if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
			continue // Kubernetes: an empty term matches no node.
		}
		t, err := affinityTerm(base, origins, term, "node affinity ")
		if err != nil {
			c.err = fmt.Errorf("required node affinity term %d: %w", i, err)
			return c
		}
		c.terms = append(c.terms, t)
	}
	if len(c.terms) == 0 {
		c.err = fmt.Errorf("required node affinity has no term that can match a node")
	}
	return c
}

func selectorRequirements(selector map[string]string) (scheduling.Requirements, map[string]string) {
	var reqs scheduling.Requirements
	origins := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(selector)) {
		key := scheduling.NormalizedLabelKey(k)
		reqs = reqs.With(scheduling.In(key, selector[k]))
		origins[key] = joinOrigin(origins[key], fmt.Sprintf("nodeSelector %s=%s", k, selector[k]))
	}
	return reqs, origins
}

func affinityTerm(base scheduling.Requirements, baseOrigins map[string]string, term corev1.NodeSelectorTerm, how string) (*podTerm, error) {
	t := &podTerm{reqs: base, origins: maps.Clone(baseOrigins)}
	for _, e := range term.MatchExpressions {
		r, err := scheduling.NewRequirement(e.Key, e.Operator, e.Values...)
		if err != nil {
			return nil, err
		}
		t.reqs = t.reqs.With(r)
		t.origins[r.Key] = joinOrigin(t.origins[r.Key], how+describeExpression(e))
	}
	for _, f := range term.MatchFields {
		if f.Key != fieldNodeName {
			return nil, fmt.Errorf("matchFields key %q: only %s is supported", f.Key, fieldNodeName)
		}
		r, err := scheduling.NewRequirement(f.Key, f.Operator, f.Values...)
		if err != nil {
			return nil, err
		}
		t.fields = t.fields.With(r)
	}
	return t, nil
}

func joinOrigin(existing, added string) string {
	if existing == "" {
		return added
	}
	return existing + " and " + added
}

func describeExpression(e corev1.NodeSelectorRequirement) string {
	if len(e.Values) == 0 {
		return fmt.Sprintf("%s %s", e.Key, e.Operator)
	}
	return fmt.Sprintf("%s %s [%s]", e.Key, e.Operator, strings.Join(e.Values, " "))
}

// origin is how the term asked for key, or the requirement itself when it was not the pod.
func (t *podTerm) origin(key string) string {
	if o, ok := t.origins[key]; ok {
		return o
	}
	r, _ := t.reqs.Get(key)
	return r.String()
}

// untoleratedPoolTaint returns the pool taint the class does not tolerate, cached per pool.
func (c *podClass) untoleratedPoolTaint(pool *poolState) *corev1.Taint {
	if v, ok := c.taintVerdicts[pool]; ok {
		return v
	}
	v := untoleratedTaint(pool.taints, c.tolerations)
	c.taintVerdicts[pool] = v
	return v
}
