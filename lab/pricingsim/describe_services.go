package pricingsim

import "github.com/nodewright/nodewright/lab/awsjson"

type describeServicesInput struct {
	ServiceCode   *string
	FormatVersion *string
	MaxResults    *int32
	NextToken     *string
}

type describeServicesOutput struct {
	FormatVersion string
	Services      []serviceJSON
}

type serviceJSON struct {
	ServiceCode    string
	AttributeNames []string
}

// describeServices lists AmazonEC2 and the attributes its records carry, the one service
// priced; another service code lists nothing.
func (s *Sim) describeServices(in describeServicesInput) (describeServicesOutput, *awsjson.Error) {
	if in.FormatVersion != nil && *in.FormatVersion != formatVersion {
		return describeServicesOutput{}, invalidParameter("formatVersion %q is not supported: use %s", *in.FormatVersion, formatVersion)
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > maxResults) {
		return describeServicesOutput{}, invalidParameter("maxResults %d must be between 1 and %d", *in.MaxResults, maxResults)
	}
	out := describeServicesOutput{FormatVersion: formatVersion, Services: []serviceJSON{}}
	if in.ServiceCode == nil || *in.ServiceCode == serviceCode {
		out.Services = append(out.Services, serviceJSON{ServiceCode: serviceCode, AttributeNames: s.attributeNames})
	}
	return out, nil
}
