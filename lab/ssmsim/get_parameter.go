package ssmsim

import (
	"strconv"
	"strings"
	"time"

	"github.com/nodewright/nodewright/lab/awsjson"
)

// maxNamesPerGet is GetParameters' limit on names in one call.
const maxNamesPerGet = 10

type getParameterInput struct {
	Name           *string
	WithDecryption bool // String parameters read the same either way
}

type getParameterOutput struct {
	Parameter parameterJSON
}

type getParametersInput struct {
	Names          []string
	WithDecryption bool
}

type getParametersOutput struct {
	Parameters        []parameterJSON
	InvalidParameters []string
}

// parameterJSON is types.Parameter on the wire; LastModifiedDate is epoch seconds, the JSON
// protocols' default timestamp format.
type parameterJSON struct {
	Name             string
	Type             string
	Value            string
	Version          int64
	Selector         string `json:",omitempty"`
	LastModifiedDate float64
	ARN              string
	DataType         string
}

func (s *Sim) getParameter(in getParameterInput) (getParameterOutput, *awsjson.Error) {
	if in.Name == nil {
		return getParameterOutput{}, validationError("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookup("name", *in.Name)
	if err != nil {
		return getParameterOutput{}, err
	}
	return getParameterOutput{Parameter: p}, nil
}

// getParameters answers what it can: a malformed name fails the whole call, as it does in SSM,
// while a name that is merely absent is listed in InvalidParameters.
func (s *Sim) getParameters(in getParametersInput) (getParametersOutput, *awsjson.Error) {
	if len(in.Names) == 0 {
		return getParametersOutput{}, validationError("1 validation error detected: Value '[]' at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(in.Names) > maxNamesPerGet {
		return getParametersOutput{}, validationError("1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to %d", maxNamesPerGet)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := getParametersOutput{Parameters: []parameterJSON{}, InvalidParameters: []string{}}
	seen := map[string]bool{}
	for _, name := range in.Names {
		if seen[name] {
			continue
		}
		seen[name] = true
		p, err := s.lookup("names", name)
		switch {
		case err == nil:
			out.Parameters = append(out.Parameters, p)
		case err.Type == CodeValidationException:
			return getParametersOutput{}, err
		default:
			out.InvalidParameters = append(out.InvalidParameters, name)
		}
	}
	return out, nil
}

// lookup reads "name" or "name:version" and must be called with s.mu held. Labels are not
// simulated, so a label selector finds no version.
func (s *Sim) lookup(field, full string) (parameterJSON, *awsjson.Error) {
	name, selector, hasSelector := strings.Cut(full, ":")
	if err := checkName(field, name); err != nil {
		return parameterJSON{}, err
	}
	p, ok := s.parameters[name]
	if !ok {
		return parameterJSON{}, parameterNotFound(name)
	}
	n := len(p.versions)
	if hasSelector {
		var err error
		if n, err = strconv.Atoi(selector); err != nil || n < 1 || n > len(p.versions) {
			return parameterJSON{}, parameterVersionNotFound(name, selector)
		}
	}
	v := p.versions[n-1]
	out := parameterJSON{
		Name:             name,
		Type:             "String",
		Value:            v.value,
		Version:          int64(n),
		LastModifiedDate: epochSeconds(v.modified),
		ARN:              s.arn(name),
		DataType:         "text",
	}
	if hasSelector {
		out.Selector = ":" + selector
	}
	return out, nil
}

// epochSeconds keeps the millisecond precision SSM reports.
func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
