package loader

import (
	"context"
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/nodewright/nodewright/crds"
)

// versionSchema is one served version of a CRD, ready to default, prune and validate objects
// as the API server does.
type versionSchema struct {
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

// schemas holds every served version of the CRDs in crds/, by group, version and kind.
type schemas map[schema.GroupVersionKind]*versionSchema

func loadSchemas() (schemas, error) {
	all, err := crds.All()
	if err != nil {
		return nil, err
	}
	out := schemas{}
	for _, crd := range all {
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			vs, err := newVersionSchema(crd, v.Name)
			if err != nil {
				return nil, fmt.Errorf("CRD %s version %s: %w", crd.Name, v.Name, err)
			}
			out[schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}] = vs
		}
	}
	return out, nil
}

func newVersionSchema(crd *apiextensionsv1.CustomResourceDefinition, version string) (*versionSchema, error) {
	val, err := apihelpers.GetSchemaForVersion(crd, version)
	if err != nil || val == nil {
		return nil, fmt.Errorf("no schema: %v", err)
	}
	internal := &apiextensionsinternal.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(val, internal, nil); err != nil {
		return nil, fmt.Errorf("convert schema: %w", err)
	}
	s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("structural schema: %w", err)
	}
	s = s.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, fmt.Errorf("prune defaults: %w", err)
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("schema validator: %w", err)
	}
	return &versionSchema{structural: s, validator: validator, cel: cel.NewValidator(s, true, celconfig.PerCallLimit)}, nil
}

// unknownFields prunes obj to the schema and returns the paths of fields it does not know,
// which strict field validation (kubectl's default) refuses.
func (v *versionSchema) unknownFields(obj map[string]any) []string {
	return structuralpruning.PruneWithOptions(obj, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
}

// applyDefaults fills the schema's defaults in, as the API server does on every request and
// every read.
func (v *versionSchema) applyDefaults(obj map[string]any) {
	structuraldefaulting.Default(obj, v.structural)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj, v.structural)
}

// validate checks the name, the OpenAPI schema and the CEL rules of a newly created object.
func (v *versionSchema) validate(ctx context.Context, obj map[string]any) field.ErrorList {
	var errs field.ErrorList
	name, _, _ := unstructured.NestedString(obj, "metadata", "name")
	if name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "name or generateName is required"))
	} else {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(name, false) {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), name, msg))
		}
	}
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, v.validator)...)
	celErrs, _ := v.cel.Validate(ctx, nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}
