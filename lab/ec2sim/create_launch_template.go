package ec2sim

import "time"

type createLaunchTemplateResponse struct {
	XMLName        struct{}          `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ CreateLaunchTemplateResponse"`
	RequestID      string            `xml:"requestId"`
	LaunchTemplate launchTemplateXML `xml:"launchTemplate"`
}

// launchTemplateXML is a LaunchTemplate as CreateLaunchTemplate, DescribeLaunchTemplates and
// DeleteLaunchTemplate render it.
type launchTemplateXML struct {
	ID             string   `xml:"launchTemplateId"`
	Name           string   `xml:"launchTemplateName"`
	CreateTime     string   `xml:"createTime"`
	CreatedBy      string   `xml:"createdBy"`
	DefaultVersion int      `xml:"defaultVersionNumber"`
	LatestVersion  int      `xml:"latestVersionNumber"`
	Tags           []tagXML `xml:"tagSet>item"`
}

// createdBy is the principal every simulated template was made by: the account's root.
const createdBy = "arn:aws:iam::" + ownerID + ":root"

func (t *launchTemplate) toXML() launchTemplateXML {
	return launchTemplateXML{
		ID: t.id, Name: t.name, CreateTime: ec2Time(t.created), CreatedBy: createdBy,
		DefaultVersion: 1, LatestVersion: 1, Tags: tagsXML(t.tags),
	}
}

// createLaunchTemplate stores version 1 of a new template. A repeated client token returns the
// template it made, even under a name taken since, as EC2 does. With a policy, the tags it
// asks for must be ones the caller may create a template with.
func (s *Sim) createLaunchTemplate(p params, requestID string, c caller) (any, *apiError) {
	req, err := s.parseLaunchTemplateRequest(p)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, s.createTemplateAccesses(req.tags)...); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prior, seen := s.templates.byToken[req.clientToken]; seen && req.clientToken != "" {
		if prior.fingerprint != req.fingerprint {
			return nil, newAPIError(CodeIdempotentParameterMismatch,
				"The client token %s was already used with different parameters.", req.clientToken)
		}
		return createLaunchTemplateResponse{RequestID: requestID, LaunchTemplate: prior.template}, nil
	}
	if _, taken := s.templates.byName(req.name); taken {
		return nil, newAPIError(CodeInvalidLaunchTemplateNameAlreadyExists, "Launch template name already in use.")
	}
	t := &launchTemplate{
		id:          s.ids.launchTemplateID(),
		name:        req.name,
		created:     s.clock().UTC().Truncate(time.Millisecond), // EC2 reports milliseconds
		description: req.description,
		tags:        req.tags,
		data:        req.data,
	}
	s.templates.add(t)
	resp := createLaunchTemplateResponse{RequestID: requestID, LaunchTemplate: t.toXML()}
	if req.clientToken != "" {
		if s.templates.byToken == nil {
			s.templates.byToken = map[string]templateReplay{}
		}
		s.templates.byToken[req.clientToken] = templateReplay{fingerprint: req.fingerprint, template: resp.LaunchTemplate}
	}
	return resp, nil
}
