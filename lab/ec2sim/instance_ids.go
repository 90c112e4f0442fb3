package ec2sim

import (
	"regexp"
	"strings"
)

// instanceIDPattern accepts EC2's short (8 hex) and long (17 hex) instance ids.
var instanceIDPattern = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// checkKnown fails the whole call when any id is malformed or unknown, as EC2 does. It must be
// called with s.mu held.
func (s *Sim) checkKnown(ids []string) *apiError {
	var missing []string
	for _, id := range ids {
		if !instanceIDPattern.MatchString(id) {
			return newAPIError(CodeInvalidInstanceIDMalformed, "Invalid id: %q", id)
		}
		if _, ok := s.records[id]; !ok {
			missing = append(missing, id)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return newAPIError(CodeInvalidInstanceIDNotFound, "The instance ID '%s' does not exist", missing[0])
	}
	return newAPIError(CodeInvalidInstanceIDNotFound, "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
}
