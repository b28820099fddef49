package server

import (
	"os"
	"runtime/debug"
	"sync"
)

// gcPercent is the garbage collector target the server runs with unless
// the operator sets GOGC. A key server's live heap is small (a few MB of
// cached objects and connection buffers) while every request allocates
// codec structures, so the default GOGC=100 collects very often; 400
// trades a few more MB of heap for about a third more Get throughput
// (docs/BENCHMARKS.md).
const gcPercent = 400

var tuneGC sync.Once

// tuneGarbageCollector applies gcPercent once per process, unless GOGC is
// set in the environment.
func tuneGarbageCollector() {
	tuneGC.Do(func() {
		if _, set := os.LookupEnv("GOGC"); !set {
			debug.SetGCPercent(gcPercent)
		}
	})
}
