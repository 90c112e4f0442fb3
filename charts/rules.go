package charts

import (
	_ "embed"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// RulesFile is where the worker's rules live in the chart; its ClusterRole template includes
// the file as it is.
const RulesFile = "nodewright/files/clusterrole-rules.yaml"

//go:embed nodewright/files/clusterrole-rules.yaml
var workerRulesYAML []byte

// WorkerRules are the worker's cluster-wide RBAC rules, as the chart's ClusterRole grants them.
func WorkerRules() ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	if err := yaml.UnmarshalStrict(workerRulesYAML, &rules); err != nil {
		return nil, fmt.Errorf("read the worker's RBAC rules from %s: %w", RulesFile, err)
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("the worker's RBAC rules in %s are empty", RulesFile)
	}
	return rules, nil
}
