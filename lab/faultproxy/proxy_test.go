package faultproxy_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nodewright/nodewright/lab/faultproxy"
)

// upstream answers "ok" and counts the requests that reached it, by method.
type upstream struct{ gets, posts atomic.Int64 }

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		u.posts.Add(1)
	} else {
		u.gets.Add(1)
	}
	_, _ = io.WriteString(w, "ok")
}

func startProxy(t *testing.T, faults faultproxy.Faults) (*faultproxy.Proxy, *upstream, string) {
	t.Helper()
	up := &upstream{}
	server := httptest.NewServer(up)
	t.Cleanup(server.Close)
	target, _ := url.Parse(server.URL)
	p, err := faultproxy.New(faultproxy.Options{Upstream: target, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addr, err := p.Serve(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	return p, up, addr
}

// outcome is "ok", the status code of a failure, or "reset".
func outcome(t *testing.T, method, addr string) string {
	t.Helper()
	req, _ := http.NewRequest(method, addr+"/api/v1/pods", strings.NewReader("{}"))
	// A fresh connection per request, so a reset costs only its own request.
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return "reset"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode == http.StatusOK && string(body) == "ok":
		return "ok"
	case resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "":
		t.Fatalf("429 without Retry-After")
	case !strings.Contains(string(body), `"kind":"Status"`):
		t.Fatalf("HTTP %d with body %q, want a Status", resp.StatusCode, body)
	}
	return resp.Status[:3]
}

func TestProxyFailsTheConfiguredFractionOfRequestsEachWay(t *testing.T) {
	const requests = 900
	p, _, addr := startProxy(t, faultproxy.Faults{Seed: 1, Rate: 0.3})
	seen := map[string]int{}
	for range requests {
		seen[outcome(t, http.MethodGet, addr)]++
	}
	for _, o := range []string{"500", "429", "reset"} {
		if got := float64(seen[o]) / requests; math.Abs(got-0.1) > 0.03 {
			t.Errorf("%d of %d requests failed with %s (%.3f), want about a third of 0.3", seen[o], requests, o, got)
		}
	}
	if st := p.Stats(); st.Requests != requests || st.Failed[faultproxy.ConnectionReset] != seen["reset"] {
		t.Errorf("stats %+v, want %d requests and %d resets", st, requests, seen["reset"])
	}
}

// A reset write reached the API server once (its answer is lost); a 500 or 429 did not reach it.
func TestProxyResetsWritesAfterServingThem(t *testing.T) {
	_, up, addr := startProxy(t, faultproxy.Faults{Seed: 2, Rate: 1})
	seen := map[string]int{}
	for range 60 {
		seen[outcome(t, http.MethodPost, addr)]++
	}
	if seen["reset"] == 0 || seen["500"]+seen["429"] == 0 {
		t.Fatalf("outcomes %v, want resets and refusals", seen)
	}
	if got := int(up.posts.Load()); got != seen["reset"] {
		t.Errorf("upstream served %d writes, want one per reset (%d)", got, seen["reset"])
	}
}

func TestProxyReadsResetBeforeReachingTheServer(t *testing.T) {
	_, up, addr := startProxy(t, faultproxy.Faults{Seed: 3, Rate: 1})
	for range 30 {
		outcome(t, http.MethodGet, addr)
	}
	if n := up.gets.Load(); n != 0 {
		t.Errorf("upstream served %d reads while every request failed", n)
	}
}

func TestProxyFaultsChangeWhileServing(t *testing.T) {
	p, _, addr := startProxy(t, faultproxy.Faults{Rate: 1})
	if o := outcome(t, http.MethodGet, addr); o == "ok" {
		t.Fatalf("request passed at rate 1")
	}
	if err := p.SetFaults(faultproxy.Faults{}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if o := outcome(t, http.MethodGet, addr); o != "ok" {
			t.Fatalf("request failed with %s after the faults were turned off", o)
		}
	}
	if err := p.SetFaults(faultproxy.Faults{Rate: 2}); err == nil || !strings.Contains(err.Error(), "Rate") {
		t.Errorf("SetFaults(rate 2) = %v, want an error naming Rate", err)
	}
}
