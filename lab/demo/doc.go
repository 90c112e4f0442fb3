// Package demo is the walk-through `make demo` runs on the lab: a worker provisions nodes
// for a Deployment, one node is drained through the operator's own code path, and a summary
// shows what was bought, how fast, and where to look in the Temporal UI.
package demo
