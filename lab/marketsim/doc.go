// Package marketsim is the simulated region's market that the lab's EC2 and Pricing
// simulators both answer from: which zones offer each instance type, its on-demand price
// and its spot price in each zone over time.
//
// Terms:
//   - offering: an instance type sold in a zone. By default every type priced in the region is
//     offered in every zone but those of a seeded few families, which a zone lacks, as in a
//     real region;
//     Restrict narrows a type to chosen zones.
//   - spot walk: each (type, zone) spot price moves once per step, a seeded random walk of its
//     saving over on-demand within ten points either side of the type's Spot Advisor saving
//     (the catalog's median where it has none), so prices differ by zone and change over time
//     yet stay within what Spot Advisor reports. SetSpotPrice pins a price from a moment on.
package marketsim
