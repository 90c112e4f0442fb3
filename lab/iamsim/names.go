package iamsim

import (
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// Constraints from IAM's API model.
const (
	maxRoleNameLength    = 64
	maxProfileNameLength = 128
	maxPathLength        = 512
	defaultMaxItems      = 100
	maxMaxItems          = 1000
	maxPolicyLength      = 131072
	defaultMaxSession    = 3600
	maxMaxSession        = 43200
	maxDescriptionLength = 1000
)

// namePattern is IAM's pattern for role and instance-profile names. Go's \w is ASCII, as IAM's is.
var namePattern = regexp.MustCompile(`^[\w+=,.@-]+$`)

// pathPattern is "/" or "/…/" with printable ASCII between.
var pathPattern = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)

var pathPrefixPattern = regexp.MustCompile(`^/[\x21-\x7F]*$`)

func checkName(field, name string, maxLength int) *apiError {
	if err := checkLength(field, name, 1, maxLength); err != nil {
		return err
	}
	if !namePattern.MatchString(name) {
		return validationError(field, name, `Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	}
	return nil
}

// checkPath reads an optional path; IAM puts entities at "/" when none is given.
func checkPath(p params) (string, *apiError) {
	path, ok := p.Lookup("Path")
	if !ok {
		return "/", nil
	}
	if err := checkLength("path", path, 1, maxPathLength); err != nil {
		return "", err
	}
	if !pathPattern.MatchString(path) {
		return "", validationError("path", path, `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	}
	return path, nil
}

func checkPathPrefix(p params) (string, *apiError) {
	prefix, ok := p.Lookup("PathPrefix")
	if !ok {
		return "/", nil
	}
	if err := checkLength("pathPrefix", prefix, 1, maxPathLength); err != nil {
		return "", err
	}
	if !pathPrefixPattern.MatchString(prefix) {
		return "", validationError("pathPrefix", prefix, `Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*`)
	}
	return prefix, nil
}

// checkInt reads an optional integer within IAM's bounds; absent means fallback.
func checkInt(p params, key, field string, lowest, highest, fallback int) (int, *apiError) {
	raw, ok := p.Lookup(key)
	if !ok {
		return fallback, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, validationError(field, raw, "Member must be an integer")
	}
	if n < lowest {
		return 0, validationError(field, raw, fmt.Sprintf("Member must have value greater than or equal to %d", lowest))
	}
	if n > highest {
		return 0, validationError(field, raw, fmt.Sprintf("Member must have value less than or equal to %d", highest))
	}
	return n, nil
}

// checkLength counts characters, not bytes, as IAM's length constraints do.
func checkLength(field, value string, lowest, highest int) *apiError {
	n := utf8.RuneCountInString(value)
	if n < lowest {
		return validationError(field, value, fmt.Sprintf("Member must have length greater than or equal to %d", lowest))
	}
	if n > highest {
		return validationError(field, value, fmt.Sprintf("Member must have length less than or equal to %d", highest))
	}
	return nil
}
