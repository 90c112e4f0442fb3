package iamsim

import (
	"github.com/nodewright/nodewright/lab/awsquery"
)

// params are a request's Query parameters, and IAM's refusal when a required one is missing.
type params struct{ awsquery.Params }

// required reads a parameter IAM needs; field is its name in IAM's validation messages.
func (p params) required(key, field string) (string, *apiError) {
	v, ok := p.Lookup(key)
	if !ok {
		return "", missingValue(field)
	}
	return v, nil
}
