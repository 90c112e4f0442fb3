package sqssim

import (
	"io"
	"net/http"
)

// HTTPClient is an http.Client for SDK clients aimed at a Sim. Like ec2sim.HTTPClient it
// sidesteps aws/aws-sdk-go-v2#2737: the SDK closes its request body once response headers arrive,
// and a local server fast enough to answer first makes the transport's last body read fail and
// kill the connection mid-response. Hiding the body's WriteTo makes that read a clean EOF.
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
