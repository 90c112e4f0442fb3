package sqssim

import "fmt"

// idSource mints UUID-shaped identifiers from a counter, so a fresh Sim always hands out the same
// sequence and tests stay reproducible.
type idSource struct{ n uint64 }

// next scrambles the counter with splitmix64 so consecutive ids do not look alike.
func (g *idSource) next() uint64 {
	g.n++
	z := g.n * 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (g *idSource) uuid() string {
	a, b := g.next(), g.next()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}
