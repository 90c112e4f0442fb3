package iamsim

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// markerPrefix marks markers as ours, so one from another service or a hand-made one is refused.
const markerPrefix = "iamsim:"

// encodeMarker wraps the sort key of the last item returned in an opaque Marker. Resuming after
// a key, not an offset, keeps a page correct when items are added or deleted between calls.
func encodeMarker(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(markerPrefix + key))
}

// readMarker returns the key to resume after; empty when the request has no Marker.
func readMarker(p params) (string, *apiError) {
	marker, ok := p.Lookup("Marker")
	if !ok {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(marker)
	key, ours := strings.CutPrefix(string(raw), markerPrefix)
	if err != nil || !ours || key == "" {
		return "", newAPIError(CodeValidationError, http.StatusBadRequest, "Invalid Marker: %s", marker)
	}
	return key, nil
}

// truncation ends every IAM list result: whether more items follow, and the Marker to ask for
// them with.
type truncation struct {
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

// page returns up to maxItems of items, which are sorted by key, that come after the key
// `after`, and whether more are left with the Marker for them.
func page[T any](items []T, key func(T) string, after string, maxItems int) ([]T, truncation) {
	start := 0
	if after != "" {
		for start < len(items) && key(items[start]) <= after {
			start++
		}
	}
	rest := items[start:]
	if len(rest) <= maxItems {
		return rest, truncation{}
	}
	out := rest[:maxItems]
	return out, truncation{IsTruncated: true, Marker: encodeMarker(key(out[len(out)-1]))}
}

// pageParams reads MaxItems and Marker, which every IAM list action takes.
func pageParams(p params) (after string, maxItems int, err *apiError) {
	if maxItems, err = checkInt(p, "MaxItems", "maxItems", 1, maxMaxItems, defaultMaxItems); err != nil {
		return "", 0, err
	}
	if after, err = readMarker(p); err != nil {
		return "", 0, err
	}
	return after, maxItems, nil
}
