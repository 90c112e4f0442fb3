package activities

import "sync"

// forEachAtOnce calls do for each index below n, at most limit calls at a time, and returns
// each call's error by index. Every call is made, whatever the others return.
func forEachAtOnce(n, limit int, do func(i int) error) []error {
	errs := make([]error, n)
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			errs[i] = do(i)
		})
	}
	wg.Wait()
	return errs
}
