package v1

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
)

// TemplateHash identifies the NodePool's node template for static drift: a node launched from
// a template with another hash has drifted. Requirements are left out, as in Karpenter,
// because they drift semantically (a node whose labels still satisfy them has not drifted),
// and so are the behavioural fields (weight, limits, disruption) that never drift.
func (p *NodePool) TemplateHash() string {
	t := p.Spec.Template
	spec := t.Spec
	spec.Requirements = nil
	data, err := json.Marshal(struct {
		Labels      []string              `json:"labels"`
		Annotations []string              `json:"annotations"`
		Spec        NodeClaimTemplateSpec `json:"spec"`
	}{sortedPairs(t.ObjectMeta.Labels), sortedPairs(t.ObjectMeta.Annotations), spec})
	if err != nil {
		return "" // the template is plain data; Marshal cannot fail on it
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

func sortedPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}
