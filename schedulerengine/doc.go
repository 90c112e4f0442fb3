// Package schedulerengine decides what capacity a set of pending pods needs: it simulates
// scheduling onto existing, in-flight and new nodes and bin-packs new nodes onto the cheapest
// instance types a NodePool allows. It is pure: no clients, no clocks, no globals; the same
// Input always yields the same Plan.
package schedulerengine
