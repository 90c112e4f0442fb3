package crds

import (
	"context"
	"slices"
	"testing"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
)

// The CRDs pass the API server's own validation of a CRD, which compiles every CEL rule and
// checks its cost, so `kubectl apply -f crds/` cannot be refused.
func TestCRDsAreAcceptedByTheAPIServer(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("got %d CRDs, want NodePool, NodeClaim, EC2NodeClass and ClusterPolicy", len(all))
	}
	for _, crd := range all {
		internal := &apiextensionsinternal.CustomResourceDefinition{}
		if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, internal, nil); err != nil {
			t.Fatalf("%s: %v", crd.Name, err)
		}
		for _, v := range crd.Spec.Versions {
			if v.Storage {
				internal.Status.StoredVersions = []string{v.Name} // as the API server records on create
			}
		}
		if errs := validation.ValidateCustomResourceDefinition(context.Background(), internal); len(errs) > 0 {
			t.Errorf("%s is refused: %v", crd.Name, errs.ToAggregate())
		}
	}
}

// The CRDs serving v1beta1 convert through the worker's webhook; the NodeClaim, v1 only,
// needs none.
func TestOnlyCRDsWithV1beta1UseTheConversionWebhook(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, crd := range all {
		versions := len(crd.Spec.Versions)
		webhook := crd.Spec.Conversion != nil && crd.Spec.Conversion.Strategy == apiextensionsv1.WebhookConverter
		if webhook != (versions > 1) {
			t.Errorf("%s serves %d versions, conversion webhook %v", crd.Name, versions, webhook)
		}
		for _, v := range crd.Spec.Versions {
			if v.Name == "v1" && !v.Storage || v.Name == "v1beta1" && (v.Storage || !v.Deprecated) {
				t.Errorf("%s %s: storage %v deprecated %v; want v1 stored, v1beta1 served deprecated", crd.Name, v.Name, v.Storage, v.Deprecated)
			}
		}
	}
}

// kubectl get shows Karpenter's columns.
func TestPrinterColumnsAreKarpenters(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"nodepools.karpenter.sh":           {"NodeClass", "Nodes", "Ready", "Age"},
		"nodeclaims.karpenter.sh":          {"Type", "Capacity", "Zone", "Node", "Ready", "Age"},
		"ec2nodeclasses.karpenter.k8s.aws": {"Ready", "Age"},
		"clusterpolicies.nodewright.io":    {"MaxHourlyCost", "Ready", "Age"},
	}
	for _, crd := range all {
		for _, v := range crd.Spec.Versions {
			if !v.Storage {
				continue
			}
			var shown []string
			for _, c := range v.AdditionalPrinterColumns {
				if c.Priority == 0 {
					shown = append(shown, c.Name)
				}
			}
			if !slices.Equal(shown, want[crd.Name]) {
				t.Errorf("%s shows %v, want %v", crd.Name, shown, want[crd.Name])
			}
		}
	}
}
