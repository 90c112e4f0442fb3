// Command finish completes the CRDs controller-gen writes from apis/: it adds what Go markers
// cannot say about types Nodewright does not own (corev1.Taint, label maps) and the
// conversion webhook that serves the v1beta1 versions. make generate runs it after
// controller-gen; make verify-generated fails when the committed files differ.
//
// Usage: finish DIR
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/nodewright/nodewright/crds"
)

// Patterns Kubernetes applies to taints and labels, which a CRD has to repeat because the
// API server validates custom resources only against their schema.
const (
	qualifiedNamePattern = `^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(\/))?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`
	labelValuePattern    = `^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`
	labelValueMaxLength  = 63
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: finish DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "finish:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		finish(&crd)
		out, err := yaml.Marshal(&crd)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		out = append([]byte("---\n"), bytes.TrimSuffix(out, []byte("status:\n  acceptedNames:\n    kind: \"\"\n    plural: \"\"\n  conditions: null\n  storedVersions: null\n"))...)
		if err := os.WriteFile(f, out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func finish(crd *apiextensionsv1.CustomResourceDefinition) {
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		walk(v.Schema.OpenAPIV3Schema, "", patch)
		if crd.Spec.Names.Kind == "NodeClaim" {
			relaxConditions(v.Schema.OpenAPIV3Schema)
		}
		if !v.Storage {
			v.Deprecated = true
			v.DeprecationWarning = ptr(fmt.Sprintf("%s/%s %s is deprecated: Nodewright stores it as %s/%s (see `starter convert`)",
				crd.Spec.Group, v.Name, crd.Spec.Names.Kind, crd.Spec.Group, storageVersion(crd)))
		}
	}
	if len(crd.Spec.Versions) > 1 {
		crd.Spec.Conversion = crds.WebhookConversion()
	}
}

func storageVersion(crd *apiextensionsv1.CustomResourceDefinition) string {
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			return v.Name
		}
	}
	return ""
}

// walk visits every schema below s with its property name.
func walk(s *apiextensionsv1.JSONSchemaProps, name string, visit func(name string, s *apiextensionsv1.JSONSchemaProps)) {
	visit(name, s)
	for key, prop := range s.Properties {
		walk(&prop, key, visit)
		s.Properties[key] = prop
	}
	if s.Items != nil && s.Items.Schema != nil {
		walk(s.Items.Schema, name+"[]", visit)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		walk(s.AdditionalProperties.Schema, name+"{}", visit)
	}
}

// patch gives taints the effect enum and key/value patterns, and template labels the label
// value rules, as Karpenter's CRDs have them.
func patch(name string, s *apiextensionsv1.JSONSchemaProps) {
	switch name {
	case "taints[]", "startupTaints[]":
		effect := s.Properties["effect"]
		effect.Enum = []apiextensionsv1.JSON{{Raw: []byte(`"NoSchedule"`)}, {Raw: []byte(`"PreferNoSchedule"`)}, {Raw: []byte(`"NoExecute"`)}}
		s.Properties["effect"] = effect
		key := s.Properties["key"]
		key.MinLength = ptr[int64](1)
		key.Pattern = qualifiedNamePattern
		s.Properties["key"] = key
		value := s.Properties["value"]
		value.Pattern = qualifiedNamePattern
		s.Properties["value"] = value
	case "labels":
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil && s.MaxProperties != nil {
			s.AdditionalProperties.Schema.MaxLength = ptr[int64](labelValueMaxLength)
			s.AdditionalProperties.Schema.Pattern = labelValuePattern
		}
	}
}

// relaxConditions gives NodeClaim conditions Karpenter's schema, which lets a reason be empty
// and a message be absent, so NodeClaims Karpenter writes validate against these CRDs too.
func relaxConditions(root *apiextensionsv1.JSONSchemaProps) {
	status := root.Properties["status"]
	conds := status.Properties["conditions"]
	item := conds.Items.Schema
	reason := item.Properties["reason"]
	reason.MinLength = nil
	reason.Pattern = `^([A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?|)$`
	item.Properties["reason"] = reason
	item.Required = []string{"lastTransitionTime", "status", "type"}
	status.Properties["conditions"] = conds
	root.Properties["status"] = status
}

func ptr[T any](v T) *T { return &v }
