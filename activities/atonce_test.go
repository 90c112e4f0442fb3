package activities

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// A decision's nodes are written a few at a time, never more than the limit at once, and
// every one is tried whatever became of the others.
func TestForEachAtOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		n, limit  int
		fail      map[int]bool
		panics    map[int]bool
		wantInErr []string
	}{
		{name: "none", n: 0, limit: 4},
		{name: "fewer than the limit", n: 3, limit: 16},
		{name: "many more than the limit", n: 100, limit: 4},
		{name: "failures joined in order, the rest still made", n: 20, limit: 3, fail: map[int]bool{2: true, 17: true}, wantInErr: []string{"item 2", "item 17"}},
		{name: "a panic is that call's error", n: 5, limit: 2, panics: map[int]bool{1: true}, wantInErr: []string{"panic: item 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			running, most := 0, 0
			called := make([]bool, tc.n)
			err := errors.Join(forEachAtOnce(tc.n, tc.limit, func(i int) error {
				mu.Lock()
				running++
				most = max(most, running)
				called[i] = true
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				running--
				mu.Unlock()
				if tc.panics[i] {
					panic(fmt.Sprintf("item %d", i))
				}
				if tc.fail[i] {
					return fmt.Errorf("item %d", i)
				}
				return nil
			})...)
			if most > tc.limit {
				t.Errorf("%d calls at once, want at most %d", most, tc.limit)
			}
			if slices.Contains(called, false) {
				t.Errorf("calls made %v, want every one", called)
			}
			if len(tc.wantInErr) == 0 && err != nil {
				t.Errorf("error %v, want none", err)
			}
			if len(tc.wantInErr) > 0 && (err == nil || !strings.Contains(err.Error(), strings.Join(tc.wantInErr, "\n"))) {
				t.Errorf("error %v, want %v joined in order", err, tc.wantInErr)
			}
		})
	}
}

func TestFirstErrorsKeepsAFewAndCountsTheRest(t *testing.T) {
	t.Parallel()
	item := func(i int) error { return fmt.Errorf("item %d", i) }
	for _, tc := range []struct {
		name string
		errs []error
		want string
	}{
		{name: "none", errs: []error{nil, nil}, want: ""},
		{name: "fewer than kept", errs: []error{nil, item(1), item(2)}, want: "item 1\nitem 2"},
		{name: "more than kept", errs: []error{item(0), nil, item(2), item(3), item(4), item(5)}, want: "item 0\nitem 2\nitem 3\nand 2 more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := firstErrors(tc.errs, 3)
			if got := fmt.Sprint(err); (err == nil) != (tc.want == "") || (err != nil && got != tc.want) {
				t.Errorf("firstErrors = %q, want %q", got, tc.want)
			}
		})
	}
}
