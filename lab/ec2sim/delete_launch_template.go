package ec2sim

type deleteLaunchTemplateResponse struct {
	XMLName        struct{}          `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DeleteLaunchTemplateResponse"`
	RequestID      string            `xml:"requestId"`
	LaunchTemplate launchTemplateXML `xml:"launchTemplate"`
}

// deleteLaunchTemplate removes a template named by id or by name and answers with it. Instances
// launched from it keep what they took from it. With a policy, the template's tags must let
// the caller delete it.
func (s *Sim) deleteLaunchTemplate(p params, requestID string, c caller) (any, *apiError) {
	id, name := p.str("LaunchTemplateId"), p.str("LaunchTemplateName")
	switch {
	case id == "" && name == "":
		return nil, missingParameter("LaunchTemplateId or LaunchTemplateName")
	case id != "" && name != "":
		return nil, newAPIError(CodeInvalidParameterCombination, "Specify either the launch template ID or the launch template name, but not both.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.templates.find(id, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, s.deleteTemplateAccess(t)); err != nil {
		return nil, err
	}
	s.templates.remove(t)
	return deleteLaunchTemplateResponse{RequestID: requestID, LaunchTemplate: t.toXML()}, nil
}
