package ec2sim

import "fmt"

// idSource mints EC2-shaped identifiers from a counter, so a fresh Sim always hands out the same
// sequence of ids and tests stay reproducible.
type idSource struct{ n uint64 }

// next scrambles the counter with splitmix64 so consecutive ids do not look alike.
func (g *idSource) next() uint64 {
	g.n++
	z := g.n * 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// instanceID has EC2's long form: "i-" and 17 hex digits.
func (g *idSource) instanceID() string { return fmt.Sprintf("i-%017x", g.next()) }

func (g *idSource) reservationID() string { return fmt.Sprintf("r-%017x", g.next()) }

func (g *idSource) spotRequestID() string { return fmt.Sprintf("sir-%08x", uint32(g.next())) }

func (g *idSource) fleetID() string { return "fleet-" + g.uuid() }

func (g *idSource) requestID() string { return g.uuid() }

func (g *idSource) uuid() string {
	a, b := g.next(), g.next()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}
