package iamsim

import (
	"github.com/nodewright/nodewright/lab/simid"
)

// idAlphabet is the base32 alphabet IAM's unique ids are drawn from.
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// idSource mints IAM unique ids: a four-letter prefix naming the kind of entity and 17 more
// characters, 21 in all.
type idSource struct{ simid.Source }

func (g *idSource) roleID() string { return g.unique("AROA") }

func (g *idSource) instanceProfileID() string { return g.unique("AIPA") }

func (g *idSource) unique(prefix string) string {
	out := []byte(prefix)
	bits, left := g.Next(), 64
	for range 17 {
		if left < 5 {
			bits, left = g.Next(), 64
		}
		out = append(out, idAlphabet[bits&31])
		bits, left = bits>>5, left-5
	}
	return string(out)
}
