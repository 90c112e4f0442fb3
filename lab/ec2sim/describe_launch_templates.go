package ec2sim

import (
	"slices"
	"strconv"
)

type describeLaunchTemplatesResponse struct {
	XMLName         struct{}            `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeLaunchTemplatesResponse"`
	RequestID       string              `xml:"requestId"`
	LaunchTemplates []launchTemplateXML `xml:"launchTemplates>item"`
	NextToken       string              `xml:"nextToken,omitempty"`
}

// describeLaunchTemplates refuses an unknown id or name, as EC2 does, while filters that match
// nothing answer an empty set. It pages in creation order, MaxResults (1 to 200) at a time.
func (s *Sim) describeLaunchTemplates(p params, requestID string) (any, *apiError) {
	ids, names := p.strings("LaunchTemplateId"), p.strings("LaunchTemplateName")
	match, err := parseFilters(p, launchTemplateFilterField)
	if err != nil {
		return nil, err
	}
	limit, err := pageSize(p, 1, 200, -1)
	if err != nil {
		return nil, err
	}
	after, err := seqCursor(p.str("NextToken"))
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.templates.byID(id); !ok {
			return nil, templateIDNotFound(id)
		}
	}
	for _, name := range names {
		if _, ok := s.templates.byName(name); !ok {
			return nil, templateNameNotFound()
		}
	}
	resp := describeLaunchTemplatesResponse{RequestID: requestID}
	last := 0
	for _, t := range s.templates.all {
		if t.seq <= after || (len(ids) > 0 && !slices.Contains(ids, t.id)) ||
			(len(names) > 0 && !slices.Contains(names, t.name)) || !match.match(t) {
			continue
		}
		if limit >= 0 && len(resp.LaunchTemplates) == limit {
			resp.NextToken = encodeToken(strconv.Itoa(last))
			break
		}
		resp.LaunchTemplates = append(resp.LaunchTemplates, t.toXML())
		last = t.seq
	}
	return resp, nil
}

// launchTemplateFilterField names the DescribeLaunchTemplates filters the simulator understands.
func launchTemplateFilterField(name string) (filterField[*launchTemplate], bool) {
	if f, ok := tagFilterField(name, func(t *launchTemplate) map[string]string { return t.tags }); ok {
		return f, true
	}
	switch name {
	case "launch-template-name":
		return func(t *launchTemplate) []string { return []string{t.name} }, true
	case "create-time":
		return func(t *launchTemplate) []string { return []string{ec2Time(t.created)} }, true
	}
	return nil, false
}
