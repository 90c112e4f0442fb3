package packing

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSlackTreeVisitsExactlyTheBinsWithRoomInOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var tree SlackTree
	leaves := make([]Slack, 300) // more than one growth of the tree
	for i := range leaves {
		leaves[i] = Slack{r.Int64N(10), r.Int64N(10), r.Int64N(3)}
		tree.Set(i, leaves[i])
	}
	for i := 0; i < len(leaves); i += 7 { // updates after growth
		leaves[i] = Slack{r.Int64N(10), r.Int64N(10), r.Int64N(3)}
		tree.Set(i, leaves[i])
	}
	for _, need := range []Slack{{0, 0, 0}, {5, 5, 1}, {9, 9, 2}, {10, 0, 0}} {
		var want, got []int
		for i, l := range leaves {
			if l.Holds(need) {
				want = append(want, i)
			}
		}
		tree.Each(need, func(i int) bool { got = append(got, i); return false })
		if !slices.Equal(got, want) {
			t.Fatalf("need %v: visited %v, want %v", need, got, want)
		}
		if len(want) > 0 {
			var first []int
			tree.Each(need, func(i int) bool { first = append(first, i); return true })
			if !slices.Equal(first, want[:1]) {
				t.Fatalf("need %v: stopping at the first visit went through %v", need, first)
			}
		}
	}
}
