package activities

import (
	"errors"
	"fmt"
	"sync"
)

// forEachAtOnce calls do for each index below n, at most limit calls at a time, and returns
// each call's error by index. Every call is made, whatever the others return. A call that
// panics fails with the panic as its error: off the activity's own goroutine, the SDK's
// recovery would not catch it, and the whole worker would stop.
func forEachAtOnce(n, limit int, do func(i int) error) []error {
	errs := make([]error, n)
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("panic: %v", p)
				}
			}()
			errs[i] = do(i)
		})
	}
	wg.Wait()
	return errs
}

// firstErrors joins the first few errors and counts the rest, so that a failure over a
// hundred nodes stays short enough to record.
func firstErrors(errs []error, few int) error {
	var kept []error
	failed := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		if failed++; len(kept) < few {
			kept = append(kept, err)
		}
	}
	if failed > len(kept) {
		kept = append(kept, fmt.Errorf("and %d more", failed-len(kept)))
	}
	return errors.Join(kept...)
}
