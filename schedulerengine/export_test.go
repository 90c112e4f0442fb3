package schedulerengine

import "math"

// SolveWithoutImproving is Solve without its improvement passes (repack and rebalance), so
// external tests can tell whether the passes changed a plan.
func SolveWithoutImproving(in Input) (Plan, error) {
	return solve(in, solveOptions{skipImprovement: true})
}

// SolveWithSlackTreesOnly is Solve with the hostname anti-affinity lists turned off, so
// tests can check they change nothing but speed.
func SolveWithSlackTreesOnly(in Input) (Plan, error) {
	return solve(in, solveOptions{antiListMinClaims: math.MaxInt})
}
