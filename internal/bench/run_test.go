package bench

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runWorkers runs b.N operations spread over workers goroutines, each
// taking the next operation number from a shared counter, and reports the
// throughput (ops/s) and the median and 99th-percentile latency of one
// operation. op receives the worker's index and the operation number. A
// failing operation stops its worker and fails the benchmark; every
// operation is bounded by its own deadline, so the run is bounded too.
func runWorkers(b *testing.B, workers int, op func(worker, i int) error) {
	b.Helper()
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		firstEr error
	)
	lat := make([][]time.Duration, workers)
	b.ResetTimer()
	for w := range workers {
		wg.Go(func() {
			own := make([]time.Duration, 0, b.N/workers+1)
			defer func() { lat[w] = own }()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				start := time.Now()
				if err := op(w, int(i)); err != nil {
					mu.Lock()
					if firstEr == nil {
						firstEr = err
					}
					mu.Unlock()
					return
				}
				own = append(own, time.Since(start))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if firstEr != nil {
		b.Fatal(firstEr)
	}
	reportThroughput(b, b.N)
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(percentile(all, 50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(all, 99).Microseconds()), "p99-µs")
}

// reportThroughput reports n operations over the benchmark's elapsed time
// as ops/s.
func reportThroughput(b *testing.B, n int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(n)/s, "ops/s")
	}
}

// percentile returns the p-th percentile of sorted durations (0 if none).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}
