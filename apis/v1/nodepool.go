package v1

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodePool is karpenter.sh/v1 NodePool. Only fields Nodewright acts on are modelled; unknown
// fields in a user's YAML are ignored rather than rejected, as kubectl would for a CRD with
// preserved unknown fields.
type NodePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              NodePoolSpec `json:"spec"`
}

type NodePoolSpec struct {
	Template   NodeClaimTemplate `json:"template"`
	Disruption Disruption        `json:"disruption,omitempty"`
	// Limits caps the total resources of the pool's nodes; "nodes" counts nodes.
	Limits corev1.ResourceList `json:"limits,omitempty"`
	// Weight orders pools: higher is tried first.
	Weight *int32 `json:"weight,omitempty"`
}

type NodeClaimTemplate struct {
	ObjectMeta TemplateMeta          `json:"metadata,omitempty"`
	Spec       NodeClaimTemplateSpec `json:"spec"`
}

type TemplateMeta struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type NodeClaimTemplateSpec struct {
	Requirements           []NodeSelectorRequirementWithMinValues `json:"requirements,omitempty"`
	Taints                 []corev1.Taint                         `json:"taints,omitempty"`
	StartupTaints          []corev1.Taint                         `json:"startupTaints,omitempty"`
	ExpireAfter            NillableDuration                       `json:"expireAfter,omitempty"`
	TerminationGracePeriod *metav1.Duration                       `json:"terminationGracePeriod,omitempty"`
	NodeClassRef           *NodeClassReference                    `json:"nodeClassRef,omitempty"`
}

type NodeClassReference struct {
	Group string `json:"group,omitempty"`
	Kind  string `json:"kind,omitempty"`
	Name  string `json:"name,omitempty"`
}

// NodeSelectorRequirementWithMinValues is a node selector requirement that may also ask for
// at least MinValues distinct values (for instance-type flexibility).
type NodeSelectorRequirementWithMinValues struct {
	Key       string                      `json:"key"`
	Operator  corev1.NodeSelectorOperator `json:"operator"`
	Values    []string                    `json:"values,omitempty"`
	MinValues *int                        `json:"minValues,omitempty"`
}

type ConsolidationPolicy string

const (
	ConsolidationPolicyWhenEmpty                ConsolidationPolicy = "WhenEmpty"
	ConsolidationPolicyWhenEmptyOrUnderutilized ConsolidationPolicy = "WhenEmptyOrUnderutilized"
)

type Disruption struct {
	ConsolidationPolicy ConsolidationPolicy `json:"consolidationPolicy,omitempty"`
	ConsolidateAfter    NillableDuration    `json:"consolidateAfter,omitempty"`
	Budgets             []Budget            `json:"budgets,omitempty"`
}

type Budget struct {
	Reasons  []string         `json:"reasons,omitempty"`
	Nodes    string           `json:"nodes"`
	Schedule *string          `json:"schedule,omitempty"`
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// NillableDuration is a duration that may be "Never". Set is false when the field was absent.
type NillableDuration struct {
	Duration time.Duration
	Never    bool
	Set      bool
}

func (d *NillableDuration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return fmt.Errorf("duration must be a string such as \"720h\" or \"Never\", got %s", s)
	}
	s = s[1 : len(s)-1]
	d.Set = true
	if s == "Never" {
		d.Never = true
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: use a Go duration such as \"720h\" or \"Never\": %w", s, err)
	}
	if v < 0 {
		return fmt.Errorf("duration %q must not be negative", s)
	}
	d.Duration = v
	return nil
}

func (d NillableDuration) MarshalJSON() ([]byte, error) {
	switch {
	case !d.Set:
		return []byte("null"), nil
	case d.Never:
		return []byte(`"Never"`), nil
	default:
		return []byte(fmt.Sprintf("%q", d.Duration.String())), nil
	}
}

// Defaults from Karpenter's NodePool API.
const (
	DefaultExpireAfter = 720 * time.Hour
)

// WeightOrZero returns the pool's weight; an unset weight counts as 0.
func (p *NodePool) WeightOrZero() int32 {
	if p.Spec.Weight == nil {
		return 0
	}
	return *p.Spec.Weight
}

// LimitFor returns the pool's limit for a resource and whether one is set.
func (p *NodePool) LimitFor(name corev1.ResourceName) (resource.Quantity, bool) {
	q, ok := p.Spec.Limits[name]
	return q, ok
}
