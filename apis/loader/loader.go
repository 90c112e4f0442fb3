package loader

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/apis/conversion"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
)

// Loader reads NodePools and EC2NodeClasses. Build one with New and share it: it holds the
// compiled schemas and CEL programs.
type Loader struct {
	schemas schemas
}

// New compiles the schemas of the CRDs in crds/.
func New() (*Loader, error) {
	s, err := loadSchemas()
	if err != nil {
		return nil, fmt.Errorf("load CRD schemas: %w", err)
	}
	return &Loader{schemas: s}, nil
}

// Manifest is what a file holds that Nodewright acts on.
type Manifest struct {
	NodePools   []apisv1.NodePool
	NodeClasses []awsv1.EC2NodeClass
	// Warnings name fields that were converted away or that Nodewright does not act on yet.
	Warnings []string
}

// Load reads every NodePool and EC2NodeClass of a multi-document YAML file, as kubectl apply
// would take it. Documents of other kinds are skipped. Every problem is returned at once,
// each naming its document, object and field. NodePools must name an EC2NodeClass of the same
// file, since there is no API server to hold it.
func (l *Loader) Load(ctx context.Context, data []byte) (*Manifest, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	var errs []error
	seen := map[schema.GroupKind]map[string]int{}
	for i, doc := range docs {
		number := i + 1
		obj, err := decodeDocument(doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", number, err))
			continue
		}
		gk := obj.GroupVersionKind().GroupKind()
		if !isLoaded(gk) {
			continue
		}
		if first, dup := seen[gk][obj.GetName()]; dup {
			errs = append(errs, fmt.Errorf("document %d: %s %q is defined twice (documents %d and %d); names must be unique",
				number, gk.Kind, obj.GetName(), first, number))
			continue
		}
		if seen[gk] == nil {
			seen[gk] = map[string]int{}
		}
		seen[gk][obj.GetName()] = number
		switch gk.Kind {
		case apisv1.KindNodePool:
			pool, warnings, err := l.NodePool(ctx, obj.Object)
			m.Warnings = append(m.Warnings, prefixed(number, gk.Kind, obj.GetName(), warnings)...)
			if err != nil {
				errs = append(errs, fmt.Errorf("document %d: %w", number, err))
				continue
			}
			m.NodePools = append(m.NodePools, *pool)
		case awsv1.KindEC2NodeClass:
			class, warnings, err := l.EC2NodeClass(ctx, obj.Object)
			m.Warnings = append(m.Warnings, prefixed(number, gk.Kind, obj.GetName(), warnings)...)
			if err != nil {
				errs = append(errs, fmt.Errorf("document %d: %w", number, err))
				continue
			}
			m.NodeClasses = append(m.NodeClasses, *class)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, m.checkNodeClassRefs()...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// checkNodeClassRefs makes sure every pool's EC2NodeClass is in the file.
func (m *Manifest) checkNodeClassRefs() []error {
	var errs []error
	for _, p := range m.NodePools {
		ref := p.Spec.Template.Spec.NodeClassRef
		if !awsv1.IsEC2NodeClassRef(ref.Group, ref.Kind) {
			errs = append(errs, fmt.Errorf("NodePool %q: spec.template.spec.nodeClassRef: %s/%s is not a node class Nodewright knows; use group %s, kind %s",
				p.Name, ref.Group, ref.Kind, awsv1.Group, awsv1.KindEC2NodeClass))
			continue
		}
		if !slices.ContainsFunc(m.NodeClasses, func(c awsv1.EC2NodeClass) bool { return c.Name == ref.Name }) {
			errs = append(errs, fmt.Errorf("NodePool %q: spec.template.spec.nodeClassRef: EC2NodeClass %q is not in the file; add it (kind: EC2NodeClass, metadata.name: %s)",
				p.Name, ref.Name, ref.Name))
		}
	}
	return errs
}

// NodePool reads one NodePool of any served version, as the API server would store it
// (karpenter.sh/v1). obj is taken over: it is pruned and defaulted in place. An unknown field
// is an error, as kubectl's strict field validation makes it.
func (l *Loader) NodePool(ctx context.Context, obj map[string]any) (*apisv1.NodePool, []string, error) {
	return l.nodePool(ctx, obj, true)
}

// StoredNodePool reads a NodePool the API server already accepted. A field these CRDs do not
// know (the cluster may serve a newer Karpenter's CRDs) is dropped with a warning rather than
// refused.
func (l *Loader) StoredNodePool(ctx context.Context, obj map[string]any) (*apisv1.NodePool, []string, error) {
	return l.nodePool(ctx, obj, false)
}

func (l *Loader) nodePool(ctx context.Context, obj map[string]any, strict bool) (*apisv1.NodePool, []string, error) {
	v1obj, warnings, err := l.admit(ctx, obj, apisv1.SchemeGroupVersion.WithKind(apisv1.KindNodePool), strict)
	if err != nil {
		return nil, warnings, err
	}
	pool := &apisv1.NodePool{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(v1obj, pool); err != nil {
		return nil, warnings, fmt.Errorf("NodePool %q: %w", nameOf(v1obj), err)
	}
	if errs := pool.RuntimeValidate(); len(errs) > 0 {
		return nil, warnings, invalid(apisv1.SchemeGroupVersion.WithKind(apisv1.KindNodePool), pool.Name, errs)
	}
	return pool, append(warnings, pool.NotActedOn()...), nil
}

// EC2NodeClass reads one EC2NodeClass of any served version, as karpenter.k8s.aws/v1.
func (l *Loader) EC2NodeClass(ctx context.Context, obj map[string]any) (*awsv1.EC2NodeClass, []string, error) {
	return l.ec2NodeClass(ctx, obj, true)
}

// StoredEC2NodeClass reads an EC2NodeClass the API server already accepted, dropping fields
// these CRDs do not know with a warning (see StoredNodePool).
func (l *Loader) StoredEC2NodeClass(ctx context.Context, obj map[string]any) (*awsv1.EC2NodeClass, []string, error) {
	return l.ec2NodeClass(ctx, obj, false)
}

func (l *Loader) ec2NodeClass(ctx context.Context, obj map[string]any, strict bool) (*awsv1.EC2NodeClass, []string, error) {
	v1obj, warnings, err := l.admit(ctx, obj, awsv1.SchemeGroupVersion.WithKind(awsv1.KindEC2NodeClass), strict)
	if err != nil {
		return nil, warnings, err
	}
	class := &awsv1.EC2NodeClass{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(v1obj, class); err != nil {
		return nil, warnings, fmt.Errorf("EC2NodeClass %q: %w", nameOf(v1obj), err)
	}
	return class, append(warnings, class.NotActedOn()...), nil
}

// admit takes obj through the API server's steps and returns it in the storage version.
// strict refuses unknown fields; otherwise they are dropped with a warning.
func (l *Loader) admit(ctx context.Context, obj map[string]any, storage schema.GroupVersionKind, strict bool) (map[string]any, []string, error) {
	u := &unstructured.Unstructured{Object: obj}
	gvk := u.GroupVersionKind()
	if gvk.GroupKind() != storage.GroupKind() {
		return nil, nil, fmt.Errorf("%s %q: expected kind %s of group %s", gvk.Kind, u.GetName(), storage.Kind, storage.Group)
	}
	vs, ok := l.schemas[gvk]
	if !ok {
		return nil, nil, invalid(gvk, u.GetName(), field.ErrorList{field.NotSupported(field.NewPath("apiVersion"), u.GetAPIVersion(), l.servedVersions(storage.GroupKind()))})
	}
	var warnings []string
	if unknown := vs.unknownFields(obj); len(unknown) > 0 && !strict {
		warnings = append(warnings, fmt.Sprintf("fields Nodewright does not know are ignored: %s", strings.Join(unknown, ", ")))
	} else if len(unknown) > 0 {
		// kubectl apply asks for strict field validation, and the API server answers so.
		quoted := make([]string, len(unknown))
		for i, p := range unknown {
			quoted[i] = fmt.Sprintf("unknown field %q", p)
		}
		return nil, nil, fmt.Errorf("%s %q: strict decoding error: %s (check the spelling and indentation against the %s API)",
			gvk.Kind, u.GetName(), strings.Join(quoted, ", "), gvk.GroupVersion())
	}
	vs.applyDefaults(obj)
	if errs := vs.validate(ctx, obj); len(errs) > 0 {
		return nil, warnings, invalid(gvk, u.GetName(), errs)
	}
	if gvk == storage {
		return obj, warnings, nil
	}
	converted, converting, err := conversion.Convert(u, storage.GroupVersion().String())
	warnings = append(warnings, converting...)
	if err != nil {
		return nil, warnings, fmt.Errorf("%s %q: convert to %s: %w", gvk.Kind, u.GetName(), storage.GroupVersion(), err)
	}
	out := converted.Object
	l.schemas[storage].unknownFields(out)
	l.schemas[storage].applyDefaults(out)
	return out, warnings, nil
}

func (l *Loader) servedVersions(gk schema.GroupKind) []string {
	var out []string
	for gvk := range l.schemas {
		if gvk.GroupKind() == gk {
			out = append(out, gvk.GroupVersion().String())
		}
	}
	slices.Sort(out)
	return out
}

// invalid phrases problems as the API server does ("NodePool.karpenter.sh \"x\" is invalid:
// spec.weight: Invalid value: ...").
func invalid(gvk schema.GroupVersionKind, name string, errs field.ErrorList) error {
	return apierrors.NewInvalid(gvk.GroupKind(), name, errs)
}

func isLoaded(gk schema.GroupKind) bool {
	return gk == (schema.GroupKind{Group: apisv1.Group, Kind: apisv1.KindNodePool}) ||
		gk == (schema.GroupKind{Group: awsv1.Group, Kind: awsv1.KindEC2NodeClass})
}

func nameOf(obj map[string]any) string {
	name, _, _ := unstructured.NestedString(obj, "metadata", "name")
	return name
}

func prefixed(document int, kind, name string, warnings []string) []string {
	out := make([]string, len(warnings))
	for i, w := range warnings {
		out[i] = fmt.Sprintf("document %d: %s %q: %s", document, kind, name, w)
	}
	return out
}

// Objects decodes every document of a multi-document YAML stream, whatever its kind, for
// tools that read other objects next to NodePools and EC2NodeClasses (pass those to NodePool
// and EC2NodeClass). Documents holding only comments are skipped; the error names the
// document that is not a Kubernetes object.
func Objects(data []byte) ([]*unstructured.Unstructured, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(docs))
	for i, doc := range docs {
		obj, err := decodeDocument(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// decodeDocument reads one YAML document into an object, numbers as the API server reads them.
func decodeDocument(doc []byte) (*unstructured.Unstructured, error) {
	data, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	u := &unstructured.Unstructured{Object: obj}
	if u.GetAPIVersion() == "" || u.GetKind() == "" {
		return nil, errors.New("not a Kubernetes object: apiVersion and kind are required")
	}
	return u, nil
}

// splitDocuments cuts a multi-document YAML stream into its documents, dropping those that
// hold only comments or separators.
func splitDocuments(data []byte) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("split YAML documents: %w", err)
		}
		if onlyComments(doc) {
			continue
		}
		docs = append(docs, doc)
	}
}

func onlyComments(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		if t := strings.TrimSpace(line); t != "" && t != "---" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

// Convert rewrites a manifest with every NodePool and EC2NodeClass in its v1 form, as the API
// server would store it (defaults filled in), leaving other documents as written. The
// warnings name what moved or has no v1 form; an invalid object is an error, as kubectl
// apply would make it.
func (l *Loader) Convert(ctx context.Context, data []byte) ([]byte, []string, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, nil, err
	}
	var out bytes.Buffer
	var warnings []string
	var errs []error
	for i, doc := range docs {
		number := i + 1
		if out.Len() > 0 {
			out.WriteString("---\n")
		}
		obj, err := decodeDocument(doc)
		if err != nil || !isLoaded(obj.GroupVersionKind().GroupKind()) {
			out.Write(bytes.TrimPrefix(doc, []byte("---\n")))
			continue
		}
		storage := apisv1.SchemeGroupVersion.WithKind(apisv1.KindNodePool)
		if obj.GetKind() == awsv1.KindEC2NodeClass {
			storage = awsv1.SchemeGroupVersion.WithKind(awsv1.KindEC2NodeClass)
		}
		v1obj, w, err := l.admit(ctx, obj.Object, storage, true)
		warnings = append(warnings, prefixed(number, obj.GetKind(), obj.GetName(), w)...)
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", number, err))
			continue
		}
		delete(v1obj, "status")
		unstructured.RemoveNestedField(v1obj, "metadata", "creationTimestamp")
		data, err := yaml.Marshal(v1obj)
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", number, err))
			continue
		}
		out.Write(data)
	}
	if len(errs) > 0 {
		return nil, warnings, errors.Join(errs...)
	}
	return out.Bytes(), warnings, nil
}
