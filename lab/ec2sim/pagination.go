package ec2sim

import (
	"encoding/base64"
	"strconv"
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

// allAtOnce is the page size of an action that answers everything when MaxResults is absent.
const allAtOnce = -1

// pageOf pages the items that keep passes, MaxResults (5 to 1000) at a time, or fallback
// without it (allAtOnce for no limit), the cursor being the index after the page.
func pageOf[T any](p params, items []T, fallback int, keep func(T) bool) (page []T, next string, _ *apiError) {
	limit, err := pageSize(p, 5, 1000, fallback)
	if err != nil {
		return nil, "", err
	}
	from, err := seqCursor(p.str("NextToken"))
	if err != nil {
		return nil, "", err
	}
	if from < 0 || from > len(items) {
		return nil, "", newAPIError(CodeInvalidPaginationToken, "Invalid pagination token: %s", p.str("NextToken"))
	}
	for i := from; i < len(items); i++ {
		if !keep(items[i]) {
			continue
		}
		if limit >= 0 && len(page) == limit {
			return page, encodeToken(strconv.Itoa(i)), nil
		}
		page = append(page, items[i])
	}
	return page, "", nil
}
