package ssmsim

import (
	"strings"

	"github.com/nodewright/nodewright/lab/awsjson"
)

const (
	// maxNameLength is SSM's limit on a parameter name, path included.
	maxNameLength = 2048
	// maxPathDepth is how many levels a hierarchical name may have.
	maxPathDepth = 15
	// maxValueLength is the standard tier's limit; the advanced tier is not simulated.
	maxValueLength = 4096
)

// checkName refuses a name SSM would refuse; field is the request member named in the message.
func checkName(field, name string) *awsjson.Error {
	switch {
	case name == "":
		return validationError("1 validation error detected: Value '' at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", field)
	case len(name) > maxNameLength:
		return validationError("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", field, maxNameLength)
	case strings.ContainsFunc(name, badNameRune):
		return validationError("Parameter name: %q can only contain letters, numbers and the symbols . - _ /", name)
	case !strings.Contains(name, "/"):
		return nil
	case !strings.HasPrefix(name, "/"):
		return validationError("Parameter name: %q is formed as a path, so it must begin with a forward slash (/)", name)
	}
	levels := strings.Split(name[1:], "/")
	if len(levels) > maxPathDepth {
		return validationError("Parameter name: %q has more than %d levels in its hierarchy", name, maxPathDepth)
	}
	for _, level := range levels {
		if level == "" {
			return validationError("Parameter name: %q has an empty level in its path", name)
		}
	}
	return nil
}

func badNameRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("._-/", r)
}

func checkValue(value string) *awsjson.Error {
	if value == "" {
		return validationError("1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(value) > maxValueLength {
		return validationError("Standard tier parameters support a maximum parameter value of %d characters.", maxValueLength)
	}
	return nil
}

// arn follows SSM: public parameters under /aws/service have no account, and a name that does
// not start with a slash gets one.
func (s *Sim) arn(name string) string {
	account := s.accountID
	if strings.HasPrefix(name, "/aws/service/") {
		account = ""
	}
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return "arn:aws:ssm:" + s.region + ":" + account + ":parameter" + name
}
