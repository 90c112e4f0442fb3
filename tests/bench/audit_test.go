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
	r := requests{byVerb: map[string]int{}, byResource: map[string]int{}, failed: map[string]int{}}
	err := readAudit(path, func(e auditEvent) error {
		if e.Received.Before(from) || e.Received.After(to) {
			return nil
		}
		resource := "(none)" // a non-resource URL such as /version
		if e.ObjectRef != nil {
			resource = strings.TrimSuffix(e.ObjectRef.Resource+"/"+e.ObjectRef.Subresource, "/")
		}
		if e.Stage != "RequestReceived" {
			if e.Status != nil && e.Status.Code >= 400 {
				r.failed[fmt.Sprintf("%s %s %d", e.Verb, resource, e.Status.Code)]++
			}
			return nil
		}
		r.byVerb[e.Verb]++
		r.byResource[e.Verb+" "+resource]++
		return nil
	})
	return r, err
}

// auditEvent is what the benchmark reads of an API server's audit event.
type auditEvent struct {
	Stage  string `json:"stage"`
	Verb   string `json:"verb"`
	Status *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Received  time.Time `json:"requestReceivedTimestamp"`
	Done      time.Time `json:"stageTimestamp"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Name        string `json:"name"`
	} `json:"objectRef"`
}

// readAudit calls each with every event of the audit log, one JSON object a line. The API
// server is still writing it, so a last line that does not parse is one half written and
// left out; a line that does not parse before another is an error.
func readAudit(path string, each func(auditEvent) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open the audit log: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 4<<20)
	var pending error
	for s.Scan() {
		if pending != nil {
			return pending
		}
		var e auditEvent
		if err := json.Unmarshal(s.Bytes(), &e); err != nil {
			pending = fmt.Errorf("audit event: %w", err)
			continue
		}
		if err := each(e); err != nil {
			return err
		}
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	return nil
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

// firstNodeWrites reads the audit log for when the worker first changed each Node (an update
// or a patch that succeeded): its registration's sync, which lifts the taint that keeps pods
// off the Node until then.
func firstNodeWrites(path string) (map[string]time.Time, error) {
	first := map[string]time.Time{}
	err := readAudit(path, func(e auditEvent) error {
		if e.Stage != "ResponseComplete" || (e.Verb != "update" && e.Verb != "patch") || e.Status == nil || e.Status.Code >= 300 ||
			e.ObjectRef == nil || e.ObjectRef.Resource != "nodes" || e.ObjectRef.Subresource != "" {
			return nil
		}
		if at, ok := first[e.ObjectRef.Name]; !ok || e.Done.Before(at) {
			first[e.ObjectRef.Name] = e.Done
		}
		return nil
	})
	return first, err
}
