package pricingsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"

	"github.com/nodewright/nodewright/lab/awsjson"
)

const (
	formatVersion = "aws_v1"
	// maxResults is GetProducts' page size limit and its default.
	maxResults = 100
)

type getProductsInput struct {
	ServiceCode   *string
	Filters       []filterJSON
	FormatVersion *string
	MaxResults    *int32
	NextToken     *string
}

type getProductsOutput struct {
	FormatVersion string
	PriceList     []string
	NextToken     string `json:",omitempty"`
}

// getProducts answers one page of the products that match every filter, in a fixed order
// (region, type, offer) so pages follow on.
func (s *Sim) getProducts(in getProductsInput) (getProductsOutput, *awsjson.Error) {
	pageSize, offset, err := checkGetProducts(in)
	if err != nil {
		return getProductsOutput{}, err
	}
	out := getProductsOutput{FormatVersion: formatVersion, PriceList: []string{}}
	seen := 0
	for p := range s.products(in.Filters) {
		switch {
		case seen < offset: // on an earlier page
		case len(out.PriceList) < pageSize:
			onDemand, _ := p.region.prices.OnDemandPrice(p.typ.name)
			record, err := p.record(onDemand)
			if err != nil {
				return getProductsOutput{}, awsjson.Errorf("InternalErrorException", http.StatusInternalServerError, "%v", err)
			}
			out.PriceList = append(out.PriceList, record)
		default:
			out.NextToken = pageToken{Offset: seen, Query: queryOf(in)}.encode()
			return out, nil
		}
		seen++
	}
	return out, nil
}

// checkGetProducts refuses what GetProducts refuses and reads the page asked for.
func checkGetProducts(in getProductsInput) (pageSize, offset int, err *awsjson.Error) {
	switch {
	case in.ServiceCode == nil || *in.ServiceCode == "":
		return 0, 0, invalidParameter("serviceCode cannot be null or empty")
	case *in.ServiceCode != serviceCode:
		return 0, 0, invalidParameter("serviceCode %q is not one this endpoint prices: pricingsim serves %s only", *in.ServiceCode, serviceCode)
	case in.FormatVersion != nil && *in.FormatVersion != formatVersion:
		return 0, 0, invalidParameter("formatVersion %q is not supported: use %s", *in.FormatVersion, formatVersion)
	case in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > maxResults):
		return 0, 0, invalidParameter("maxResults %d must be between 1 and %d", *in.MaxResults, maxResults)
	}
	for i, f := range in.Filters {
		if err := f.check(i); err != nil {
			return 0, 0, err
		}
	}
	pageSize = maxResults
	if in.MaxResults != nil {
		pageSize = int(*in.MaxResults)
	}
	if in.NextToken == nil {
		return pageSize, 0, nil
	}
	token, err := decodePageToken(*in.NextToken)
	if err != nil {
		return 0, 0, err
	}
	if token.Query != queryOf(in) {
		return 0, 0, invalidNextToken("was handed out for another serviceCode, formatVersion or filters")
	}
	return pageSize, token.Offset, nil
}

// products yields the products that match every filter, skipping a region whose own fields
// fail one before looking at its types.
func (s *Sim) products(filters []filterJSON) func(yield func(product) bool) {
	return func(yield func(product) bool) {
		for _, r := range s.regions {
			if !matchesAll(regionFilters(filters), r.field) {
				continue
			}
			for _, name := range r.prices.Types() {
				t, ok := s.types[name]
				if !ok {
					continue
				}
				for _, o := range t.offers {
					p := product{region: r, typ: t, offer: o}
					if matchesAll(filters, p.field) && !yield(p) {
						return
					}
				}
			}
		}
	}
}

// regionFilters are the filters on fields every product of a region shares.
func regionFilters(filters []filterJSON) []filterJSON {
	var out []filterJSON
	var probe region // field says which names are region fields whatever the region
	for _, f := range filters {
		if _, ok := probe.field(*f.Field); ok {
			out = append(out, f)
		}
	}
	return out
}

// field is the region's value of a filter field its products share.
func (r *region) field(name string) (string, bool) {
	switch {
	case name == "regionCode":
		return r.code, true
	case name == "location":
		return r.location, true
	case strings.EqualFold(name, "servicecode"):
		return serviceCode, true
	}
	return "", false
}

// pageToken is where the next page starts, bound to the query it belongs to.
type pageToken struct {
	Offset int    `json:"o"`
	Query  string `json:"q"`
}

func (t pageToken) encode() string {
	b, _ := json.Marshal(t) // two plain fields always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (pageToken, *awsjson.Error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil || t.Offset < 0 || t.Query == "" {
		return pageToken{}, invalidNextToken(fmt.Sprintf("%q is not one GetProducts handed out", s))
	}
	return t, nil
}

// queryOf fingerprints what a page token is valid for: the same service, format and filters.
func queryOf(in getProductsInput) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s", deref(in.ServiceCode), deref(in.FormatVersion))
	for _, f := range in.Filters {
		fmt.Fprintf(h, "\x00%s\x00%s\x00%s", deref(f.Field), f.Type, deref(f.Value))
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
