package ec2sim

import (
	"io"
	"net/http"
)

// HTTPClient is an http.Client for SDK clients aimed at a Sim. It sidesteps a race between the
// SDK and net/http (aws/aws-sdk-go-v2#2737): the SDK closes its request body as soon as response
// headers arrive, and when the server is fast enough to answer before the transport's final
// body read, that read fails through the body's WriteTo and the transport kills the connection
// mid-response ("use of closed network connection"). Real EC2 is too far away to lose that race;
// a local sim loses it often. Hiding WriteTo makes the closed body read as a clean EOF.
func HTTPClient() *http.Client {
	return &http.Client{Transport: plainBodies{next: http.DefaultTransport.(*http.Transport).Clone()}}
}

type plainBodies struct{ next http.RoundTripper }

func (t plainBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return t.next.RoundTrip(r)
	}
	clone := r.Clone(r.Context())
	clone.Body = struct{ io.ReadCloser }{r.Body}
	return t.next.RoundTrip(clone)
}
