package ec2sim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// AllActions is the key of Chaos.Throttle that applies to every action without its own rate.
const AllActions = "*"

// MutatingActions are the actions whose responses Chaos.DropResponses may lose.
func MutatingActions() []string {
	return []string{"CreateFleet", "TerminateInstances", "CreateLaunchTemplate", "DeleteLaunchTemplate"}
}

// Chaos is the random faults a Sim injects on top of InjectError's scripted ones, for the
// fault-injection suite. The zero value injects nothing.
type Chaos struct {
	// Seed makes the faults repeatable: the same seed and the same calls give the same faults,
	// and the same offerings short of capacity.
	Seed uint64
	// Throttle is, per action, the probability that a call fails with RequestLimitExceeded
	// (HTTP 503) before it is served; AllActions covers the actions not named.
	Throttle map[string]float64
	// InsufficientCapacity is the fraction of (instance type, zone) offerings that have no
	// capacity: CreateFleet lists them InsufficientInstanceCapacity in errorSet, both capacity
	// types, for as long as the setting holds, as a real capacity shortage lasts.
	InsufficientCapacity float64
	// DropResponses is the probability that a mutating call (MutatingActions) that succeeded
	// loses its response: its effect stays and the connection is closed, so the SDK retries it.
	DropResponses float64
}

// Validate names the field that is out of range.
func (c Chaos) Validate() error {
	for _, action := range slices.Sorted(maps.Keys(c.Throttle)) {
		if err := checkProbability("Throttle["+action+"]", c.Throttle[action]); err != nil {
			return err
		}
	}
	if err := checkProbability("InsufficientCapacity", c.InsufficientCapacity); err != nil {
		return err
	}
	return checkProbability("DropResponses", c.DropResponses)
}

func checkProbability(field string, p float64) error {
	if !(p >= 0 && p <= 1) {
		return fmt.Errorf("chaos %s is %v: want a probability between 0 and 1", field, p)
	}
	return nil
}

// chaosState is a Sim's Chaos and the random source its draws come from; guarded by Sim.mu.
type chaosState struct {
	Chaos
	rng *rand.Rand
}

// SetChaos replaces the Sim's random faults; Chaos{} turns them off. Safe while serving.
func (s *Sim) SetChaos(c Chaos) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.Throttle = maps.Clone(c.Throttle)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chaos = chaosState{Chaos: c, rng: rand.New(rand.NewPCG(c.Seed, 0x6e6f6465))}
	return nil
}

// drawThrottle must be called with s.mu held.
func (s *Sim) drawThrottle(action string) *apiError {
	rate, ok := s.chaos.Throttle[action]
	if !ok {
		rate = s.chaos.Throttle[AllActions]
	}
	if rate <= 0 || s.chaos.rng.Float64() >= rate {
		return nil
	}
	return newAPIError(CodeRequestLimitExceeded, "Request limit exceeded.")
}

// drawDrop reports whether action's successful response is to be lost; it takes s.mu.
func (s *Sim) drawDrop(action string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rate := s.chaos.DropResponses
	return rate > 0 && slices.Contains(MutatingActions(), action) && s.chaos.rng.Float64() < rate
}

// shortOfCapacity reports whether the seed puts the offering among the InsufficientCapacity
// fraction. It hashes rather than draws, so an offering's answer never changes while the
// setting holds. It must be called with s.mu held.
func (s *Sim) shortOfCapacity(instanceType, zone string) bool {
	if s.chaos.InsufficientCapacity <= 0 {
		return false
	}
	sum := sha256.Sum256([]byte(strconv.FormatUint(s.chaos.Seed, 10) + "/" + instanceType + "/" + zone))
	return float64(binary.BigEndian.Uint64(sum[:])>>11)/(1<<53) < s.chaos.InsufficientCapacity
}

// dropResponse loses a response as a network would: the connection closes before any of it
// is written, and the client sees a transport error, not an EC2 one.
func dropResponse() {
	panic(http.ErrAbortHandler)
}

// ParseRates reads a throttle setting as the lab's flags take it: a bare probability for
// every action ("0.2"), or action=probability pairs ("CreateFleet=0.5,*=0.1").
func ParseRates(s string) (map[string]float64, error) {
	rates := map[string]float64{}
	if strings.TrimSpace(s) == "" {
		return rates, nil
	}
	if p, err := strconv.ParseFloat(s, 64); err == nil {
		rates[AllActions] = p
		return rates, nil
	}
	for _, pair := range strings.Split(s, ",") {
		action, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		p, err := strconv.ParseFloat(value, 64)
		if !ok || action == "" || err != nil {
			return nil, fmt.Errorf("rate %q: want ACTION=PROBABILITY such as CreateFleet=0.2, or one probability for every action", pair)
		}
		rates[action] = p
	}
	return rates, nil
}
