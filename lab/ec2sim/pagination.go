package ec2sim

import (
	"encoding/base64"
	"strings"
)

// tokenPrefix marks tokens as ours so a token from another call or service is refused.
const tokenPrefix = "ec2sim:"

// encodeToken wraps a cursor (the last item returned) in an opaque NextToken.
func encodeToken(cursor string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + cursor))
}

func decodeToken(token string) (string, *apiError) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	cursor, ours := strings.CutPrefix(string(raw), tokenPrefix)
	if err != nil || !ours {
		return "", newAPIError(CodeInvalidPaginationToken, "Invalid pagination token: %s", token)
	}
	return cursor, nil
}

// pageSize reads MaxResults within EC2's bounds for the action; absent means fallback.
func pageSize(p params, lowest, highest, fallback int) (int, *apiError) {
	n, present, err := p.integer("MaxResults")
	if err != nil {
		return 0, err
	}
	if !present {
		return fallback, nil
	}
	if n < lowest || n > highest {
		return 0, invalidParameterValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", n, lowest, highest)
	}
	return n, nil
}
