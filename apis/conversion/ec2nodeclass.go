package conversion

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	awsv1beta1 "github.com/nodewright/nodewright/apis/aws/v1beta1"
)

// Karpenter's annotations for what an EC2NodeClass version cannot hold.
const (
	// AnnotationUbuntu marks a v1 class converted from v1beta1 amiFamily Ubuntu, which v1
	// dropped: the class becomes AL2, and the value lists what was made up for it
	// (amiFamily, blockDeviceMappings, incompatible).
	AnnotationUbuntu = "compatibility.karpenter.k8s.aws/v1beta1-ubuntu"
	// AnnotationAliasVersion keeps, on a v1beta1 class, the version of a pinned v1 alias.
	AnnotationAliasVersion = "compatibility.karpenter.k8s.aws/v1-alias-version"
)

// AMI families by v1beta1 amiFamily and their v1 alias family.
var aliasFamilies = map[string]string{
	"AL2": "al2", "AL2023": "al2023", "Bottlerocket": "bottlerocket", "Windows2019": "windows2019", "Windows2022": "windows2022",
}

// ubuntuPlaceholderAMI makes a converted Ubuntu class without AMI terms select nothing, as in
// Karpenter: v1 has no Ubuntu family to pick AMIs for it.
const ubuntuPlaceholderAMI = "ami-placeholder"

// classV1Fields are a v1 EC2NodeClass's settings that v1beta1 cannot express.
type classV1Fields struct {
	Kubelet                          *awsv1.KubeletConfiguration             `json:"kubelet,omitempty"`
	CapacityReservationSelectorTerms []awsv1.CapacityReservationSelectorTerm `json:"capacityReservationSelectorTerms,omitempty"`
	IPPrefixCount                    *int32                                  `json:"ipPrefixCount,omitempty"`
	PlacementGroupSelector           *awsv1.PlacementGroupSelector           `json:"placementGroupSelector,omitempty"`
	NetworkInterfaces                []awsv1.NetworkInterface                `json:"networkInterfaces,omitempty"`
	ConnectionTracking               *awsv1.ConnectionTracking               `json:"connectionTracking,omitempty"`
	CPUOptions                       *awsv1.CPUOptions                       `json:"cpuOptions,omitempty"`
	// Alias is a v1 alias that v1beta1 could not fold into amiFamily alone: one beside an
	// explicit amiFamily (kept as AliasFamily), or of a family v1beta1 does not know.
	Alias       string `json:"alias,omitempty"`
	AliasFamily string `json:"aliasFamily,omitempty"`
	// SSMParameters are AMI terms by SSM parameter, which v1beta1 cannot select by.
	SSMParameters []string `json:"ssmParameters,omitempty"`
}

// EC2NodeClassToV1 converts a v1beta1 EC2NodeClass to v1.
func EC2NodeClassToV1(in *awsv1beta1.EC2NodeClass) (*awsv1.EC2NodeClass, []string, error) {
	in = in.DeepCopy()
	out := &awsv1.EC2NodeClass{
		TypeMeta:   metav1.TypeMeta{APIVersion: awsv1.SchemeGroupVersion.String(), Kind: awsv1.KindEC2NodeClass},
		ObjectMeta: in.ObjectMeta,
		Status:     in.Status,
	}
	annotations := maps.Clone(in.Annotations)
	aliasVersion := annotations[AnnotationAliasVersion]
	delete(annotations, AnnotationAliasVersion)
	extra := classV1Fields{}
	if raw, ok := annotations[AnnotationV1Fields]; ok {
		if err := json.Unmarshal([]byte(raw), &extra); err != nil {
			return nil, nil, fmt.Errorf("annotation %s: %w", AnnotationV1Fields, err)
		}
		delete(annotations, AnnotationV1Fields)
	}
	var warnings []string
	s := in.Spec
	spec := &out.Spec
	spec.SubnetSelectorTerms = s.SubnetSelectorTerms
	spec.SecurityGroupSelectorTerms = s.SecurityGroupSelectorTerms
	spec.AssociatePublicIPAddress = s.AssociatePublicIPAddress
	spec.UserData = s.UserData
	spec.Role = s.Role
	spec.InstanceProfile = s.InstanceProfile
	spec.Tags = s.Tags
	spec.BlockDeviceMappings = s.BlockDeviceMappings
	spec.InstanceStorePolicy = s.InstanceStorePolicy
	spec.DetailedMonitoring = s.DetailedMonitoring
	spec.Context = s.Context
	if m := s.MetadataOptions; m != nil {
		spec.MetadataOptions = &awsv1.MetadataOptions{
			HTTPEndpoint: m.HTTPEndpoint, HTTPProtocolIPv6: m.HTTPProtocolIPv6,
			HTTPPutResponseHopLimit: m.HTTPPutResponseHopLimit, HTTPTokens: m.HTTPTokens,
		}
	}
	spec.Kubelet = extra.Kubelet
	spec.CapacityReservationSelectorTerms = extra.CapacityReservationSelectorTerms
	spec.IPPrefixCount = extra.IPPrefixCount
	spec.PlacementGroupSelector = extra.PlacementGroupSelector
	spec.NetworkInterfaces = extra.NetworkInterfaces
	spec.ConnectionTracking = extra.ConnectionTracking
	spec.CPUOptions = extra.CPUOptions

	family := ptr.Deref(s.AMIFamily, "")
	terms := amiTermsToV1(s.AMISelectorTerms)
	for _, p := range extra.SSMParameters {
		terms = append(terms, awsv1.AMISelectorTerm{SSMParameter: p})
	}
	switch {
	case extra.Alias != "" && len(terms) == 0:
		spec.AMISelectorTerms = []awsv1.AMISelectorTerm{{Alias: extra.Alias}}
		if extra.AliasFamily != "" {
			spec.AMIFamily = ptr.To(extra.AliasFamily)
		}
	case aliasFamilies[family] != "" && len(terms) == 0:
		version := "latest"
		if aliasVersion != "" {
			version = aliasVersion
		}
		spec.AMISelectorTerms = []awsv1.AMISelectorTerm{{Alias: aliasFamilies[family] + "@" + version}}
	case aliasFamilies[family] != "":
		spec.AMIFamily = ptr.To(family)
		spec.AMISelectorTerms = terms
	case family == "Ubuntu":
		made := []string{"amiFamily"}
		spec.AMIFamily = ptr.To("AL2")
		if s.BlockDeviceMappings == nil {
			spec.BlockDeviceMappings = []*awsv1.BlockDeviceMapping{{
				DeviceName: ptr.To("/dev/sda1"), RootVolume: true,
				EBS: &awsv1.BlockDevice{Encrypted: ptr.To(true), VolumeType: ptr.To("gp3"), VolumeSize: ptr.To(resource.MustParse("20Gi"))},
			}}
			made = append(made, "blockDeviceMappings")
		}
		spec.AMISelectorTerms = terms
		if len(terms) == 0 {
			spec.AMISelectorTerms = []awsv1.AMISelectorTerm{{ID: ubuntuPlaceholderAMI}}
			made = append(made, "incompatible")
		}
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[AnnotationUbuntu] = strings.Join(made, ",")
		warnings = append(warnings, "spec.amiFamily: Ubuntu has no v1 form; the class becomes AL2 with your AMI terms"+
			map[bool]string{true: " (it has none, so it selects no AMI until you add amiSelectorTerms)", false: ""}[len(terms) == 0])
	default:
		spec.AMIFamily = ptr.To("Custom")
		spec.AMISelectorTerms = terms
	}
	if _, ok := s.Tags["eks:eks-cluster-name"]; ok {
		warnings = append(warnings, "spec.tags: eks:eks-cluster-name is set by Nodewright in v1 and refused there; remove it")
	}
	out.Annotations = annotations
	return out, warnings, nil
}

// EC2NodeClassToV1beta1 converts a v1 EC2NodeClass to v1beta1.
func EC2NodeClassToV1beta1(in *awsv1.EC2NodeClass) (*awsv1beta1.EC2NodeClass, []string, error) {
	in = in.DeepCopy()
	out := &awsv1beta1.EC2NodeClass{
		TypeMeta:   metav1.TypeMeta{APIVersion: awsv1beta1.SchemeGroupVersion.String(), Kind: awsv1.KindEC2NodeClass},
		ObjectMeta: in.ObjectMeta,
		Status:     in.Status,
	}
	annotations := maps.Clone(in.Annotations)
	ubuntu, isUbuntu := annotations[AnnotationUbuntu]
	for _, k := range []string{AnnotationUbuntu, AnnotationStoredVersionMigrated, AnnotationV1Fields} {
		delete(annotations, k)
	}
	var warnings []string
	s := in.Spec
	spec := &out.Spec
	spec.SubnetSelectorTerms = s.SubnetSelectorTerms
	spec.SecurityGroupSelectorTerms = s.SecurityGroupSelectorTerms
	spec.AssociatePublicIPAddress = s.AssociatePublicIPAddress
	spec.UserData = s.UserData
	spec.Role = s.Role
	spec.InstanceProfile = s.InstanceProfile
	spec.Tags = s.Tags
	spec.BlockDeviceMappings = s.BlockDeviceMappings
	spec.InstanceStorePolicy = s.InstanceStorePolicy
	spec.DetailedMonitoring = s.DetailedMonitoring
	spec.Context = s.Context
	if m := s.MetadataOptions; m != nil {
		spec.MetadataOptions = &awsv1beta1.MetadataOptions{
			HTTPEndpoint: m.HTTPEndpoint, HTTPProtocolIPv6: m.HTTPProtocolIPv6,
			HTTPPutResponseHopLimit: m.HTTPPutResponseHopLimit, HTTPTokens: m.HTTPTokens,
		}
	}
	extra := classV1Fields{
		Kubelet: s.Kubelet, CapacityReservationSelectorTerms: s.CapacityReservationSelectorTerms, IPPrefixCount: s.IPPrefixCount,
		PlacementGroupSelector: s.PlacementGroupSelector, NetworkInterfaces: s.NetworkInterfaces,
		ConnectionTracking: s.ConnectionTracking, CPUOptions: s.CPUOptions,
	}
	for name, set := range map[string]bool{
		"kubelet": s.Kubelet != nil, "capacityReservationSelectorTerms": len(s.CapacityReservationSelectorTerms) > 0,
		"ipPrefixCount": s.IPPrefixCount != nil, "placementGroupSelector": s.PlacementGroupSelector != nil,
		"networkInterfaces": len(s.NetworkInterfaces) > 0, "connectionTracking": s.ConnectionTracking != nil, "cpuOptions": s.CPUOptions != nil,
	} {
		if set {
			warnings = append(warnings, "spec."+name+" has no v1beta1 form")
		}
	}
	slices.Sort(warnings)

	var alias string
	for _, t := range s.AMISelectorTerms {
		switch {
		case t.Alias != "":
			alias = t.Alias
		case t.SSMParameter != "":
			extra.SSMParameters = append(extra.SSMParameters, t.SSMParameter)
			warnings = append(warnings, fmt.Sprintf("spec.amiSelectorTerms ssmParameter %s has no v1beta1 form", t.SSMParameter))
		default:
			spec.AMISelectorTerms = append(spec.AMISelectorTerms, awsv1beta1.AMISelectorTerm{Tags: t.Tags, ID: t.ID, Name: t.Name, Owner: t.Owner})
		}
	}
	switch {
	case isUbuntu:
		spec.AMIFamily = ptr.To("Ubuntu")
		made := strings.Split(ubuntu, ",")
		if slices.Contains(made, "incompatible") {
			spec.AMISelectorTerms = nil
		}
		if slices.Contains(made, "blockDeviceMappings") {
			spec.BlockDeviceMappings = nil
		}
	case s.AMIFamily != nil:
		spec.AMIFamily = s.AMIFamily
		if alias != "" {
			extra.Alias, extra.AliasFamily = alias, *s.AMIFamily
			warnings = append(warnings, fmt.Sprintf("spec.amiSelectorTerms alias %s beside amiFamily %s has no v1beta1 form", alias, *s.AMIFamily))
		}
	case alias != "":
		family, version, _ := strings.Cut(alias, "@")
		for f, a := range aliasFamilies {
			if a == family {
				spec.AMIFamily = ptr.To(f)
			}
		}
		if spec.AMIFamily == nil {
			spec.AMIFamily = ptr.To("Custom")
			extra.Alias = alias
			warnings = append(warnings, fmt.Sprintf("spec.amiSelectorTerms alias %s has no v1beta1 family", alias))
		}
		if version != "latest" {
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[AnnotationAliasVersion] = version
		}
	default:
		spec.AMIFamily = ptr.To("Custom")
	}
	if data, err := json.Marshal(extra); err != nil {
		return nil, nil, err
	} else if string(data) != "{}" {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[AnnotationV1Fields] = string(data)
	}
	out.Annotations = annotations
	return out, warnings, nil
}

func amiTermsToV1(terms []awsv1beta1.AMISelectorTerm) []awsv1.AMISelectorTerm {
	var out []awsv1.AMISelectorTerm
	for _, t := range terms {
		out = append(out, awsv1.AMISelectorTerm{Tags: t.Tags, ID: t.ID, Name: t.Name, Owner: t.Owner})
	}
	return out
}
