package schedulerengine

import "math"

// SolveWithoutImproving is Solve without its improvement passes (repack and rebalance), so
// external tests can tell whether the passes changed a plan.
func SolveWithoutImproving(in Input) (Plan, error) {
	in.Pods = withVolumeTopology(in.Pods, in.Volumes)
	s, err := newSolver(in)
	if err != nil {
		return Plan{}, err
	}
	s.run()
	return s.plan(), nil
}

// SolveWithSlackTreesOnly is Solve with the hostname anti-affinity lists turned off, so
// tests can check they change nothing but speed.
func SolveWithSlackTreesOnly(in Input) (Plan, error) {
	in.Pods = withVolumeTopology(in.Pods, in.Volumes)
	s, err := newSolver(in)
	if err != nil {
		return Plan{}, err
	}
	s.antiListMinClaims = math.MaxInt
	s.run()
	s.improve()
	return s.plan(), nil
}
