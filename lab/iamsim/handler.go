package iamsim

import (
	"net/http"

	"github.com/nodewright/nodewright/lab/awsquery"
)

const (
	// apiVersion is the only IAM API version there is; requests must name it.
	apiVersion = "2010-05-08"
	// maxRequestBytes is far above a 128 KiB policy document, IAM's largest parameter here.
	maxRequestBytes = 1 << 20
)

// operation runs one action on its decoded parameters; a nil result means the action's response
// has no Result element.
type operation func(params) (any, *apiError)

// ServeHTTP answers one Query request: Action and Version as form fields in a POST body or, as
// IAM also allows, in a GET's query string.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	requestID := s.requests.UUID()
	s.mu.Unlock()
	action, result, err := s.handle(w, r)
	if err != nil {
		writeError(w, err, requestID)
		return
	}
	writeResult(w, action, result, requestID)
}

func (s *Sim) handle(w http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return "", nil, invalidAction(r.Method, "")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	if err := r.ParseForm(); err != nil {
		return "", nil, newAPIError("MalformedQueryString", http.StatusBadRequest, "read the request: %v", err)
	}
	p := params{awsquery.Params(r.Form)}
	action, version := p.Get("Action"), p.Get("Version")
	op := s.operation(action)
	if op == nil || version != apiVersion {
		return "", nil, invalidAction(action, version)
	}
	result, err := op(p)
	return action, result, err
}

func (s *Sim) operation(action string) operation {
	switch action {
	case "CreateRole":
		return s.createRoleAction
	case "GetRole":
		return s.getRoleAction
	case "CreateInstanceProfile":
		return s.createInstanceProfile
	case "GetInstanceProfile":
		return s.getInstanceProfile
	case "DeleteInstanceProfile":
		return s.deleteInstanceProfile
	case "AddRoleToInstanceProfile":
		return s.addRoleToInstanceProfile
	case "RemoveRoleFromInstanceProfile":
		return s.removeRoleFromInstanceProfile
	case "TagInstanceProfile":
		return s.tagInstanceProfile
	case "UntagInstanceProfile":
		return s.untagInstanceProfile
	case "ListInstanceProfileTags":
		return s.listInstanceProfileTags
	case "ListInstanceProfiles":
		return s.listInstanceProfiles
	}
	return nil
}
