package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	corev1 "k8s.io/api/core/v1"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// ImagesAPI is the part of *ec2.Client that looks up AMIs.
type ImagesAPI interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, opts ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
}

// SSMAPI is the part of *ssm.Client that reads the public parameters naming EKS AMIs.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Images resolves an EC2NodeClass's amiSelectorTerms, as Karpenter does: an alias through the
// SSM parameters AWS publishes for each EKS AMI variant, other terms through DescribeImages.
type Images struct {
	EC2 ImagesAPI
	SSM SSMAPI
	// KubernetesVersion is the cluster's minor version ("1.33"), which the alias parameters
	// are published under.
	KubernetesVersion func(ctx context.Context) (string, error)
}

// ErrNoAMI is a term that names no AMI: an alias whose parameter AWS does not publish.
var ErrNoAMI = errors.New("no AMI")

// aliasVariant is one AMI an alias stands for, and the instance types it suits.
type aliasVariant struct {
	parameter    string
	requirements []corev1.NodeSelectorRequirement
}

// AMIs returns the AMIs the terms select, newest first, each with the requirements of the
// instance types that may use it.
func (im Images) AMIs(ctx context.Context, terms []awsv1.AMISelectorTerm) ([]awsv1.AMI, error) {
	if len(terms) == 1 && terms[0].Alias != "" {
		return im.alias(ctx, terms[0].Alias)
	}
	var ids []string
	var found []ec2types.Image
	for _, t := range terms {
		switch {
		case t.Alias != "":
			return nil, fmt.Errorf("amiSelectorTerms: an alias must be the only term: %w", ErrInvalidClass)
		case t.SSMParameter != "":
			id, err := im.parameter(ctx, t.SSMParameter)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		case t.ID != "":
			ids = append(ids, t.ID)
		default:
			images, err := im.describe(ctx, &ec2.DescribeImagesInput{Filters: imageFilters(t), Owners: owners(t)})
			if err != nil {
				return nil, err
			}
			found = append(found, images...)
		}
	}
	if len(ids) > 0 {
		images, err := im.describe(ctx, &ec2.DescribeImagesInput{ImageIds: ids})
		if err != nil {
			return nil, err
		}
		found = append(found, images...)
	}
	return newestFirst(found, nil), nil
}

// alias resolves family@version through the parameters of each of the family's variants.
func (im Images) alias(ctx context.Context, alias string) ([]awsv1.AMI, error) {
	if im.KubernetesVersion == nil {
		return nil, fmt.Errorf("alias %s: the cluster's Kubernetes version is not known", alias)
	}
	k8s, err := im.KubernetesVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("alias %s: read the cluster's Kubernetes version: %w", alias, err)
	}
	variants, err := aliasVariants(alias, k8s)
	if err != nil {
		return nil, err
	}
	var ids []string
	requirements := map[string][]corev1.NodeSelectorRequirement{}
	for _, v := range variants {
		id, err := im.parameter(ctx, v.parameter)
		if errors.Is(err, ErrNoAMI) {
			continue // not every variant is published for every version
		}
		if err != nil {
			return nil, fmt.Errorf("alias %s: %w", alias, err)
		}
		ids = append(ids, id)
		requirements[id] = v.requirements
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("alias %s: AWS publishes no AMI for Kubernetes %s under it: %w", alias, k8s, ErrNoAMI)
	}
	images, err := im.describe(ctx, &ec2.DescribeImagesInput{ImageIds: ids})
	if err != nil {
		return nil, fmt.Errorf("alias %s: %w", alias, err)
	}
	return newestFirst(images, requirements), nil
}

// AliasAMIs are the AMIs an alias stands for as a plan sees them: one per variant the alias
// has, each with the requirements of the instance types it suits and no id. It is what a dry
// run takes an alias to resolve to without asking SSM.
func AliasAMIs(alias string) ([]awsv1.AMI, error) {
	variants, err := aliasVariants(alias, "")
	if err != nil {
		return nil, err
	}
	out := make([]awsv1.AMI, 0, len(variants))
	for _, v := range variants {
		out = append(out, awsv1.AMI{Name: alias, Requirements: v.requirements})
	}
	return out, nil
}

// aliasVariants names the SSM parameters of an alias's AMIs for one Kubernetes version.
func aliasVariants(alias, k8s string) ([]aliasVariant, error) {
	family, version, ok := strings.Cut(alias, "@")
	if !ok || version == "" {
		return nil, fmt.Errorf("alias %q is not family@version (al2023@latest): %w", alias, ErrInvalidClass)
	}
	amd64 := requirement(v1.LabelArch, corev1.NodeSelectorOpIn, "amd64")
	arm64 := requirement(v1.LabelArch, corev1.NodeSelectorOpIn, "arm64")
	noGPU := requirement(catalog.LabelInstanceGPUCount, corev1.NodeSelectorOpDoesNotExist)
	gpu := requirement(catalog.LabelInstanceGPUCount, corev1.NodeSelectorOpExists)
	switch strings.ToLower(family) {
	case "al2023":
		path := func(arch, variant string) string {
			name := "recommended"
			if version != "latest" {
				name = fmt.Sprintf("amazon-eks-node-al2023-%s-%s-%s-%s", arch, variant, k8s, version)
			}
			return fmt.Sprintf("/aws/service/eks/optimized-ami/%s/amazon-linux-2023/%s/%s/%s/image_id", k8s, arch, variant, name)
		}
		return []aliasVariant{
			{path("x86_64", "standard"), []corev1.NodeSelectorRequirement{amd64, noGPU}},
			{path("arm64", "standard"), []corev1.NodeSelectorRequirement{arm64, noGPU}},
			{path("x86_64", "nvidia"), []corev1.NodeSelectorRequirement{amd64, gpu}},
		}, nil
	case "bottlerocket":
		v := strings.TrimPrefix(version, "v")
		path := func(flavour, arch string) string {
			return fmt.Sprintf("/aws/service/bottlerocket/aws-k8s-%s%s/%s/%s/image_id", k8s, flavour, arch, v)
		}
		return []aliasVariant{
			{path("", "x86_64"), []corev1.NodeSelectorRequirement{amd64, noGPU}},
			{path("", "arm64"), []corev1.NodeSelectorRequirement{arm64, noGPU}},
			{path("-nvidia", "x86_64"), []corev1.NodeSelectorRequirement{amd64, gpu}},
		}, nil
	}
	return nil, fmt.Errorf("alias %s: Nodewright resolves al2023 and bottlerocket aliases; pick an AMI by id, name or tags for %s: %w", alias, family, ErrInvalidClass)
}

func requirement(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

// parameter reads an SSM parameter holding an AMI id; ErrNoAMI when it does not exist.
func (im Images) parameter(ctx context.Context, name string) (string, error) {
	if im.SSM == nil {
		return "", fmt.Errorf("SSM parameter %s: this worker has no SSM client", name)
	}
	out, err := im.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ParameterNotFound" {
		return "", fmt.Errorf("SSM parameter %s: %w", name, ErrNoAMI)
	}
	if err != nil {
		return "", fmt.Errorf("SSM parameter %s: %w", name, err)
	}
	if out.Parameter == nil || !strings.HasPrefix(aws.ToString(out.Parameter.Value), "ami-") {
		return "", fmt.Errorf("SSM parameter %s does not hold an AMI id", name)
	}
	return aws.ToString(out.Parameter.Value), nil
}

func (im Images) describe(ctx context.Context, in *ec2.DescribeImagesInput) ([]ec2types.Image, error) {
	var out []ec2types.Image
	pages := ec2.NewDescribeImagesPaginator(im.EC2, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe images: %w", err)
		}
		out = append(out, page.Images...)
	}
	return out, nil
}

// imageFilters turns a name/tags term into DescribeImages filters; "*" in a tag value means
// any value.
func imageFilters(t awsv1.AMISelectorTerm) []ec2types.Filter {
	var filters []ec2types.Filter
	if t.Name != "" {
		filters = append(filters, ec2types.Filter{Name: aws.String("name"), Values: []string{t.Name}})
	}
	for _, k := range slices.Sorted(maps.Keys(t.Tags)) {
		if t.Tags[k] == "*" {
			filters = append(filters, ec2types.Filter{Name: aws.String("tag-key"), Values: []string{k}})
			continue
		}
		filters = append(filters, ec2types.Filter{Name: aws.String("tag:" + k), Values: []string{t.Tags[k]}})
	}
	return filters
}

// owners is the term's owner, or, for a name alone, the account and Amazon, as Karpenter
// defaults it so that a name matches no stranger's image.
func owners(t awsv1.AMISelectorTerm) []string {
	switch {
	case t.Owner != "":
		return []string{t.Owner}
	case t.Name != "" && len(t.Tags) == 0:
		return []string{"self", "amazon"}
	}
	return nil
}

// newestFirst keeps available images once each, newest first; an image's requirements are
// the alias variant's when given, else its architecture's.
func newestFirst(images []ec2types.Image, requirements map[string][]corev1.NodeSelectorRequirement) []awsv1.AMI {
	slices.SortStableFunc(images, func(a, b ec2types.Image) int {
		return cmp.Or(strings.Compare(aws.ToString(b.CreationDate), aws.ToString(a.CreationDate)),
			strings.Compare(aws.ToString(a.ImageId), aws.ToString(b.ImageId)))
	})
	var out []awsv1.AMI
	seen := map[string]bool{}
	for _, img := range images {
		id := aws.ToString(img.ImageId)
		if seen[id] || (img.State != "" && img.State != ec2types.ImageStateAvailable) {
			continue
		}
		seen[id] = true
		reqs, ok := requirements[id]
		if !ok {
			reqs = []corev1.NodeSelectorRequirement{requirement(v1.LabelArch, corev1.NodeSelectorOpIn, archLabel(img.Architecture))}
		}
		out = append(out, awsv1.AMI{ID: id, Name: aws.ToString(img.Name), Deprecated: deprecated(img), Requirements: reqs})
	}
	return out
}

func archLabel(a ec2types.ArchitectureValues) string {
	switch a {
	case ec2types.ArchitectureValuesX8664:
		return "amd64"
	case ec2types.ArchitectureValuesArm64:
		return "arm64"
	}
	return string(a)
}

// deprecated reports an image past its deprecation time: still usable, but shown so.
func deprecated(img ec2types.Image) bool {
	at, err := time.Parse(time.RFC3339, aws.ToString(img.DeprecationTime))
	return err == nil && at.Before(time.Now())
}
