package ec2sim

// fault is an injected error waiting to fail the next calls of one action.
type fault struct {
	code      string
	remaining int
}

// InjectError makes the next `times` calls of action fail with code, after any faults already
// queued for that action. RequestLimitExceeded, Unavailable and ServiceUnavailable come back as
// HTTP 503 and InternalError as 500 (all retried by the SDK); other codes as 400.
func (s *Sim) InjectError(action, code string, times int) {
	if times <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = append(s.faults[action], &fault{code: code, remaining: times})
}

// takeFault must be called with s.mu held.
func (s *Sim) takeFault(action string) *apiError {
	queue := s.faults[action]
	if len(queue) == 0 {
		return nil
	}
	head := queue[0]
	head.remaining--
	if head.remaining == 0 {
		s.faults[action] = queue[1:]
	}
	return newAPIError(head.code, "Injected %s for %s.", head.code, action)
}
