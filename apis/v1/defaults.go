package v1

// Karpenter's defaults for fields a NodePool may leave out.
const (
	DefaultConsolidationPolicy = ConsolidationPolicyWhenEmptyOrUnderutilized
	DefaultBudgetNodes         = "10%"
)

// SetDefaults fills the fields Karpenter's CRD defaults: expireAfter 720h,
// consolidationPolicy WhenEmptyOrUnderutilized, consolidateAfter 0s and a single budget of
// 10% of nodes. Fields the user set, including "Never", are kept.
func (p *NodePool) SetDefaults() {
	spec := &p.Spec
	if !spec.Template.Spec.ExpireAfter.Set {
		spec.Template.Spec.ExpireAfter = NillableDuration{Duration: DefaultExpireAfter, Set: true}
	}
	if spec.Disruption.ConsolidationPolicy == "" {
		spec.Disruption.ConsolidationPolicy = DefaultConsolidationPolicy
	}
	if !spec.Disruption.ConsolidateAfter.Set {
		spec.Disruption.ConsolidateAfter = NillableDuration{Set: true}
	}
	if len(spec.Disruption.Budgets) == 0 {
		spec.Disruption.Budgets = []Budget{{Nodes: DefaultBudgetNodes}}
	}
}
