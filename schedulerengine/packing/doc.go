// Package packing holds the engine's pure bin-packing arithmetic over amounts and the
// prices given with them: it knows nothing of pods, claims or instance types.
//
// An amount list ([]int64) holds one resource per slot in milli-units, with cpu, memory and
// pod slots always in the first three slots (CPU, Memory, Pods); other resources follow.
//
//   - Slack is the room a bin has left in cpu, memory and pod slots. A SlackTree indexes the
//     slack of many bins in opening order, so first-fit finds the first bin that holds an
//     item without trying every bin.
//   - UnitPrices is the cheapest price per unit of each resource over the bins offered; its
//     Bound is what covering a total must cost at least (the engine's lower bound).
//   - NodesNeeded is how many bins of one size a demand fills, fractionally.
//   - Waste is the part of a bin's price its unused cpu and memory stand for.
package packing
