// Package simid mints identifiers for the lab's AWS simulators from a counter, so a fresh
// simulator always hands out the same sequence and tests stay reproducible.
package simid

import "fmt"

// Source is a counter; its zero value starts at the first id. Start two sources at different
// values (From) to keep their sequences apart.
type Source struct{ n uint64 }

// From returns a source whose first id follows counter value n.
func From(n uint64) Source { return Source{n: n} }

// Next scrambles the counter with splitmix64 so consecutive ids do not look alike.
func (s *Source) Next() uint64 {
	s.n++
	z := s.n * 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// UUID is a UUID-shaped id, as AWS request and message ids are.
func (s *Source) UUID() string {
	a, b := s.Next(), s.Next()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}
