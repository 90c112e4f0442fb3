package worker

import (
	"fmt"
	"sync"
	"time"
)

// outage follows a dependency the worker cannot work without (the Temporal frontend, the pod
// watch): how long it has been failing, counted from the first failure after the last
// success, so /healthz fails only for an outage that lasts, not for one failed call.
type outage struct {
	what string
	now  func() time.Time

	mu      sync.Mutex
	since   time.Time // zero while the last attempt succeeded
	lastErr error
}

func newOutage(what string) *outage { return &outage{what: what, now: time.Now} }

// record notes an attempt's outcome; nil is a success.
func (o *outage) record(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err == nil {
		o.since, o.lastErr = time.Time{}, nil
		return
	}
	if o.since.IsZero() {
		o.since = o.now()
	}
	o.lastErr = err
}

// longerThan is an error naming the dependency and its last failure once it has been failing
// for longer than limit; nil otherwise.
func (o *outage) longerThan(limit time.Duration) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		return nil
	}
	if d := o.now().Sub(o.since); d > limit {
		return fmt.Errorf("%s failing for %s: %v", o.what, d.Round(time.Second), o.lastErr)
	}
	return nil
}
