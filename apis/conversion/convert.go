package conversion

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	awsv1beta1 "github.com/nodewright/nodewright/apis/aws/v1beta1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/apis/v1beta1"
)

// Convert converts a NodePool or EC2NodeClass to apiVersion, v1 or v1beta1 of its group. An
// object already at that version is returned as a copy.
func Convert(obj *unstructured.Unstructured, apiVersion string) (*unstructured.Unstructured, []string, error) {
	from := obj.GroupVersionKind()
	to, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, nil, err
	}
	if to.Group != from.Group {
		return nil, nil, fmt.Errorf("cannot convert %s to another group (%s)", from.GroupVersion(), apiVersion)
	}
	if to.Version == from.Version {
		return obj.DeepCopy(), nil, nil
	}
	var (
		out      runtime.Object
		warnings []string
	)
	switch {
	case from == v1beta1.SchemeGroupVersion.WithKind(v1.KindNodePool) && to == v1.SchemeGroupVersion:
		in := &v1beta1.NodePool{}
		if err = fromUnstructured(obj, in); err == nil {
			out, warnings, err = NodePoolToV1(in)
		}
	case from == v1.SchemeGroupVersion.WithKind(v1.KindNodePool) && to == v1beta1.SchemeGroupVersion:
		in := &v1.NodePool{}
		if err = fromUnstructured(obj, in); err == nil {
			out, warnings, err = NodePoolToV1beta1(in)
		}
	case from == awsv1beta1.SchemeGroupVersion.WithKind(awsv1.KindEC2NodeClass) && to == awsv1.SchemeGroupVersion:
		in := &awsv1beta1.EC2NodeClass{}
		if err = fromUnstructured(obj, in); err == nil {
			out, warnings, err = EC2NodeClassToV1(in)
		}
	case from == awsv1.SchemeGroupVersion.WithKind(awsv1.KindEC2NodeClass) && to == awsv1beta1.SchemeGroupVersion:
		in := &awsv1.EC2NodeClass{}
		if err = fromUnstructured(obj, in); err == nil {
			out, warnings, err = EC2NodeClassToV1beta1(in)
		}
	default:
		return nil, nil, fmt.Errorf("no conversion from %s to %s", from, apiVersion)
	}
	if err != nil {
		return nil, warnings, err
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(out)
	if err != nil {
		return nil, warnings, err
	}
	u := &unstructured.Unstructured{Object: content}
	u.SetAPIVersion(apiVersion)
	u.SetKind(from.Kind)
	return u, warnings, nil
}

func fromUnstructured(u *unstructured.Unstructured, into any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return fmt.Errorf("read %s %q: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}
