// Package crds holds the CustomResourceDefinitions Nodewright serves (karpenter.sh NodePool
// and NodeClaim, karpenter.k8s.aws EC2NodeClass, nodewright.io ClusterPolicy), generated from the Go types in apis/ by
// make generate. Users install this folder with kubectl apply; the lab installs it the same
// way, and the worker's file loader validates against the same schemas.
package crds

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

//go:embed *.yaml
var files embed.FS

// The conversion webhook's default address in a cluster: the worker's Service. The worker
// fills in the CA bundle at start, and a URL instead when told where it is reachable.
const (
	WebhookServiceNamespace = "kube-system"
	WebhookServiceName      = "nodewright"
	WebhookServicePort      = 8443
	WebhookPath             = "/convert"
)

// WebhookConversion is the conversion stanza of the CRDs that serve a v1beta1 version.
func WebhookConversion() *apiextensionsv1.CustomResourceConversion {
	port := int32(WebhookServicePort)
	path := WebhookPath
	return &apiextensionsv1.CustomResourceConversion{
		Strategy: apiextensionsv1.WebhookConverter,
		Webhook: &apiextensionsv1.WebhookConversion{
			ClientConfig: &apiextensionsv1.WebhookClientConfig{
				Service: &apiextensionsv1.ServiceReference{
					Namespace: WebhookServiceNamespace, Name: WebhookServiceName, Port: &port, Path: &path,
				},
			},
			ConversionReviewVersions: []string{"v1"},
		},
	}
}

// All returns the CRDs, ordered by name.
func All() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(names))
	for _, name := range names {
		data, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("crds/%s: %w", name, err)
		}
		out = append(out, crd)
	}
	return out, nil
}
