// Package starter is the operator's side of Nodewright: it starts the controllers, lists and
// describes node workflows, and drains a node by signalling its workflow. The starter command
// and the lab's demo both use it, so the demo exercises the operator's own code path.
package starter
