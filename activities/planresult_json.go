package activities

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// A PlanResult goes into the Provisioner's history, so when Packed its JSON writes each
// claim's shape once: the claims of one plan mostly share a pool, instance types (up to 60 names), zones,
// labels and node class, and differ only in their pods and summed requests. A 1,000-pod
// plan of 334 alike claims then takes about 70 KB instead of 250 KB, and fits one result.
// Results recorded before this, with every claim in full under "claims", still decode.

// packedClaim is one claim of a packed result: its shape's index and what is its own.
type packedClaim struct {
	Shape    int                 `json:"shape"`
	Name     string              `json:"name,omitempty"`
	Pods     []string            `json:"pods"`
	Requests corev1.ResourceList `json:"requests,omitempty"`
}

// packedClaims are a result's claims as its JSON carries them.
type packedClaims struct {
	Shapes []Claim       `json:"shapes"` // claims less their name, pods and requests
	Claims []packedClaim `json:"claims"`
}

// planResultFields is PlanResult without its methods, so that encoding it does not recurse.
type planResultFields PlanResult

// MarshalJSON writes the claims packed when r.Packed, else in full.
func (r PlanResult) MarshalJSON() ([]byte, error) {
	if !r.Packed {
		return json.Marshal(planResultFields(r))
	}
	out := struct {
		planResultFields
		Claims []Claim       `json:"claims,omitempty"` // hides the plain list
		Packed *packedClaims `json:"packedClaims,omitempty"`
	}{planResultFields: planResultFields(r)}
	if len(r.Claims) > 0 {
		p := &packedClaims{}
		index := map[string]int{}
		for _, c := range r.Claims {
			if _, err := p.add(c, index); err != nil {
				return nil, err
			}
		}
		out.Packed = p
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads claims packed, or in full as results recorded before packing hold them.
func (r *PlanResult) UnmarshalJSON(data []byte) error {
	var in struct {
		planResultFields
		Packed *packedClaims `json:"packedClaims"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*r = PlanResult(in.planResultFields)
	if in.Packed == nil {
		return nil
	}
	r.Packed = true
	claims, err := in.Packed.unpack()
	if err != nil {
		return err
	}
	r.Claims = append(r.Claims, claims...)
	return nil
}

// add packs one claim, adding its shape unless index already has it; it returns the bytes
// the claim added.
func (p *packedClaims) add(c Claim, index map[string]int) (int, error) {
	shape := c
	shape.Name, shape.Pods, shape.Requests = "", nil, nil
	key, err := json.Marshal(shape)
	if err != nil {
		return 0, fmt.Errorf("claim %s: %w", c.Name, err)
	}
	size := 0
	i, ok := index[string(key)]
	if !ok {
		i = len(p.Shapes)
		index[string(key)] = i
		p.Shapes = append(p.Shapes, shape)
		size += len(key)
	}
	own := packedClaim{Shape: i, Name: c.Name, Pods: c.Pods, Requests: c.Requests}
	b, err := json.Marshal(own)
	if err != nil {
		return 0, fmt.Errorf("claim %s: %w", c.Name, err)
	}
	p.Claims = append(p.Claims, own)
	return size + len(b), nil
}

// unpack gives each claim its shape's fields: claims of one shape share its slices and
// maps, which their readers only read.
func (p *packedClaims) unpack() ([]Claim, error) {
	out := make([]Claim, 0, len(p.Claims))
	for _, own := range p.Claims {
		if own.Shape < 0 || own.Shape >= len(p.Shapes) {
			return nil, fmt.Errorf("packed claim %q names shape %d of %d", own.Name, own.Shape, len(p.Shapes))
		}
		c := p.Shapes[own.Shape]
		c.Name, c.Pods, c.Requests = own.Name, own.Pods, own.Requests
		out = append(out, c)
	}
	return out, nil
}

// packedWithin keeps the claims, in order, while they fit in budget bytes of packed JSON; it
// keeps the first whatever its size, so that every call makes progress. more says some were
// cut.
func packedWithin(claims []Claim, budget int) (kept []Claim, more bool) {
	p := &packedClaims{}
	index := map[string]int{}
	used := 0
	for i, c := range claims {
		n, err := p.add(c, index)
		if err != nil || (i > 0 && used+n > budget) {
			return claims[:i], true
		}
		used += n
	}
	return claims, false
}
