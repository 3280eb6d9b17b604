package main

import "runtime/debug"

// gcPercent is the garbage collector's target that klaxon serve runs with
// unless GOGC says otherwise. A storm allocates fast while the live heap
// stays small (tens of MiB): collecting at three times the live heap
// rather than twice spends a third less CPU collecting. With make load, on
// two CPUs, each scenario against the default in the same run: 13–44 %
// more alerts a second (docs/benchmarks-history.md). Prometheus sets its own
// default the same way.
const gcPercent = 200

// tuneGC sets gcPercent unless the environment sets GOGC, and returns the
// target in force.
func tuneGC(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		p := debug.SetGCPercent(-1) // read it back
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(gcPercent)
	return gcPercent
}
