package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// Apply creates or updates every object of a multi-document YAML manifest with server-side
// apply, as `kubectl apply --server-side` does, and returns the objects the API server
// answered with. The first object it refuses ends it, with the API server's error.
func Apply(ctx context.Context, cfg *rest.Config, manifest []byte) ([]*unstructured.Unstructured, error) {
	return ApplyWith(ctx, cfg, manifest, metav1.PatchOptions{FieldManager: "kubectl", Force: ptr.To(true)})
}

// ApplyWith is Apply with the caller's field manager, conflict policy and dry run, as another
// tool (Helm, say) applies; fields are always validated strictly.
func ApplyWith(ctx context.Context, cfg *rest.Config, manifest []byte, opts metav1.PatchOptions) ([]*unstructured.Unstructured, error) {
	opts.FieldValidation = "Strict"
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	var out []*unstructured.Unstructured
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		var obj map[string]any
		if err := decoder.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("decode manifest: %w", err)
		}
		if len(obj) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		gvk := u.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return out, fmt.Errorf("%s %s: %w", gvk, u.GetName(), err)
		}
		data, err := yaml.Marshal(obj)
		if err != nil {
			return out, err
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ns := u.GetNamespace()
			if ns == "" {
				ns = metav1.NamespaceDefault
			}
			ri = dyn.Resource(mapping.Resource).Namespace(ns)
		}
		applied, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts)
		if err != nil {
			return out, fmt.Errorf("apply %s %s: %w", gvk.Kind, u.GetName(), err)
		}
		out = append(out, applied)
	}
}
