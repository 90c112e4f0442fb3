package schedulerengine

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
