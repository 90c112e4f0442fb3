// Package faultproxy is an HTTP reverse proxy that fails a fraction of the requests passing
// through it, as an overloaded or flaky API server does: with a 500, with a 429 and
// Retry-After, or by resetting the connection (after serving a write, so its effect stays and
// only the answer is lost). The lab puts one in front of the kube-apiserver for the worker in
// the fault-injection suite; the kube-scheduler and controllers keep the direct address.
//
// It is hand-written because the faults must be repeatable from a seed and tunable while the
// lab runs; general proxies (toxiproxy) work at the TCP level and know nothing of HTTP status.
package faultproxy
