package schedulerengine

import (
	"slices"
	"testing"
)

func TestCheapestCandidatesKeepsEveryTypeThatCanBeAmongTheCheapest(t *testing.T) {
	prices := make([]float64, 100)
	for i := range prices {
		prices[i] = float64(i / 2) // pairs of equal price
	}
	inOrder := make([]int, 100)
	for i := range inOrder {
		inOrder[i] = i
	}
	shuffled := slices.Clone(inOrder)
	shuffled[10], shuffled[90] = shuffled[90], shuffled[10]
	cases := []struct {
		name      string
		types     []int
		minValues bool
		want      int
	}{
		{name: "cheapest first, no tie across the cut: the first sixty", types: inOrder, want: 60},
		{name: "a tie across the cut keeps both", types: inOrder[1:], want: 61},
		{name: "out of price order: every type", types: shuffled, want: 100},
		{name: "minValues: every type", types: inOrder, minValues: true, want: 100},
		{name: "fewer than sixty: every type", types: inOrder[:30], want: 30},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := cheapestCandidates(tc.types, prices, tc.minValues)
			if len(got) != tc.want {
				t.Fatalf("kept %d types, want %d", len(got), tc.want)
			}
			if !slices.Equal(got, tc.types[:len(got)]) {
				t.Fatalf("kept %v, not a prefix of the input", got)
			}
		})
	}
}
