//go:build benche2e

package bench

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// requests counts the worker's requests to the API server, by verb and by verb and resource,
// and those that failed by verb, resource and response code.
type requests struct {
	byVerb, byResource, failed map[string]int
}

// countRequests reads the API server's audit log of the worker's requests and counts those
// received from from to to.
func countRequests(path string, from, to time.Time) (requests, error) {
	f, err := os.Open(path)
	if err != nil {
		return requests{}, fmt.Errorf("open the audit log: %w", err)
	}
	defer f.Close()
	r := requests{byVerb: map[string]int{}, byResource: map[string]int{}, failed: map[string]int{}}
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 4<<20)
	for s.Scan() {
		var e struct {
			Stage  string `json:"stage"`
			Verb   string `json:"verb"`
			Status *struct {
				Code int `json:"code"`
			} `json:"responseStatus"`
			Received  time.Time `json:"requestReceivedTimestamp"`
			ObjectRef *struct {
				Resource    string `json:"resource"`
				Subresource string `json:"subresource"`
			} `json:"objectRef"`
		}
		if err := json.Unmarshal(s.Bytes(), &e); err != nil {
			return requests{}, fmt.Errorf("audit event: %w", err)
		}
		if e.Received.Before(from) || e.Received.After(to) {
			continue
		}
		resource := "(none)" // a non-resource URL such as /version
		if e.ObjectRef != nil {
			resource = strings.TrimSuffix(e.ObjectRef.Resource+"/"+e.ObjectRef.Subresource, "/")
		}
		if e.Stage != "RequestReceived" {
			if e.Status != nil && e.Status.Code >= 400 {
				r.failed[fmt.Sprintf("%s %s %d", e.Verb, resource, e.Status.Code)]++
			}
			continue
		}
		r.byVerb[e.Verb]++
		r.byResource[e.Verb+" "+resource]++
	}
	if err := s.Err(); err != nil {
		return requests{}, fmt.Errorf("read the audit log: %w", err)
	}
	return r, nil
}

func (r requests) total() int {
	n := 0
	for _, c := range r.byVerb {
		n += c
	}
	return n
}

// top lists the counts of a map, largest first, at most n of them, as "key count".
func top(counts map[string]int, n int) string {
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
	var parts []string
	for _, k := range keys[:min(n, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}
