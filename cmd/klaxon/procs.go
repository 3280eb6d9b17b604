package main

import "runtime"

// tuneProcs gives klaxon serve, on the embedded store, one P (a place to
// run Go code, GOMAXPROCS) more than the runtime chose, unless the
// environment sets GOMAXPROCS, and returns the number in force.
//
// The store's syncer spends most of a storm in fdatasync: a system call
// of 0.2 to 2 ms that keeps its P until the runtime's monitor takes it
// back, while the goroutines queued on that P wait and a CPU runs no Go
// code. With one P more, the others keep running while it waits. In
// spread on two CPUs (scripts/ab.sh, the same build with GOMAXPROCS=3
// against the default in turn) that took 1.09 times the events a second;
// on Redis, whose calls do not block a thread, 0.97, so it is only the
// embedded store's.
//
// A number set here is fixed: the runtime no longer follows a change of
// the container's CPU limit while klaxon runs.
func tuneProcs(getenv func(string) string, embedded bool) int {
	n := runtime.GOMAXPROCS(0)
	if getenv("GOMAXPROCS") != "" || !embedded {
		return n
	}
	runtime.GOMAXPROCS(n + 1)
	return n + 1
}
