// Package chaos is the fault-injection suite, `make chaos`: it starts the lab in-process, runs
// the worker binary as a separate process against it, and drives scale-outs and scale-ins while
// the lab injects faults (EC2 throttling, capacity shortages and lost responses, a failing API
// server, a killed worker, a restarted Temporal). Each scenario prints one line of figures: pods,
// nodes launched, instances and Nodes leaked, duplicate launches, seconds to converge, PASS or
// FAIL. Its tests build only with the chaos tag, so `make test` neither compiles nor runs them.
package chaos
