package usage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// Shape of the BenchmarkQuery1M data set: each volume has
// bench1MPerVolume records (one write, then reads over time), and the
// volumes use bench1MPairs label pairs, so each of the 2×bench1MPairs
// labels is named by records/bench1MPairs records (5,000 at 1,000,000).
const (
	bench1MPerVolume = 10
	bench1MPairs     = 200
	bench1MRecent    = 100 // records per label in the "newest" window
)

// benchUsageRecords is the store size for BenchmarkQuery1M:
// KEYWARDEN_BENCH_USAGE_RECORDS, default 1,000,000.
func benchUsageRecords() int {
	if n, err := strconv.Atoi(os.Getenv("KEYWARDEN_BENCH_USAGE_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// bench1MRecord is record j of n: volume j mod n/10 (so each volume is
// written first and read afterwards), one second apart, label pair
// volume mod bench1MPairs.
func bench1MRecord(j, volumes int) Record {
	v := j % volumes
	op := "read"
	if j < volumes {
		op = "write"
	}
	p := v % bench1MPairs
	return Record{
		Time: t0.Add(time.Duration(j) * time.Second), Protocol: ProtocolDevice, Operation: op, Outcome: OutcomeOK,
		Volser: fmt.Sprintf("V%07d", v), DriveSerial: fmt.Sprintf("D%03d", j%97), WWN: fmt.Sprintf("500507630F%06X", j%97),
		Alias1: fmt.Sprintf("LBL_%03d_A", p), Alias2: fmt.Sprintf("LBL_%03d_B", p),
	}
}

// bench1MData is the loaded log and the expected match counts.
type bench1MData struct {
	l           *Log
	n, volumes  int
	perVolume   []int     // records per volume
	perPair     []int     // records per label pair
	recentFrom  time.Time // start of the "newest" window
	recentCount []int     // records per label pair inside the window
	load        time.Duration
}

// loadBench1M fills a log with benchUsageRecords() records in commands of
// 5,000 records each.
func loadBench1M(b *testing.B) *bench1MData {
	n := benchUsageRecords()
	d := &bench1MData{n: n, volumes: max(1, n/bench1MPerVolume), perPair: make([]int, bench1MPairs), recentCount: make([]int, bench1MPairs)}
	d.perVolume = make([]int, d.volumes)
	// The window holding the newest ~bench1MRecent records of each label.
	window := bench1MRecent * bench1MPairs
	d.recentFrom = t0.Add(time.Duration(max(0, n-window)) * time.Second)
	l, st, path := newTestLog(b)
	d.l = l
	ctx := context.Background()
	start := time.Now()
	const batch = 5000
	for i := 0; i < n; i += batch {
		var cmd store.Command
		for j := i; j < min(i+batch, n); j++ {
			r := bench1MRecord(j, d.volumes)
			v := j % d.volumes
			d.perVolume[v]++
			d.perPair[v%bench1MPairs]++
			if !r.Time.Before(d.recentFrom) {
				d.recentCount[v%bench1MPairs]++
			}
			if err := l.Append(&cmd, r); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.Apply(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
	d.load = time.Since(start)
	size := int64(-1)
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	b.Logf("loaded %d usage records (%d volumes, %d labels) in %v; database file %d bytes", n, d.volumes, 2*bench1MPairs, d.load, size)
	return d
}

// runQuery1M measures one Query per iteration and reports the median,
// the records matched per query, the median cost per matched record and
// the process CPU time per query.
// query returns the query for a random i and the number of records it
// must return.
func runQuery1M(b *testing.B, d *bench1MData, query func(i int) (Query, int)) {
	ctx := context.Background()
	durations := make([]time.Duration, 0, b.N)
	matched := 0
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		q, want := query(rand.IntN(d.volumes))
		start := time.Now()
		got, err := d.l.Query(ctx, q)
		durations = append(durations, time.Since(start))
		if err != nil {
			b.Fatalf("query %+v: %v", q, err)
		}
		if len(got) != want {
			b.Fatalf("query %+v: got %d records, want %d", q, len(got), want)
		}
		matched += len(got)
	}
	cpu = processCPU() - cpu
	slices.Sort(durations)
	median := float64(durations[len(durations)/2].Nanoseconds())
	perQuery := float64(matched) / float64(len(durations))
	b.ReportMetric(median, "median-ns")
	b.ReportMetric(perQuery, "matched")
	if perQuery > 0 {
		b.ReportMetric(median/perQuery, "median-ns/record")
	}
	b.ReportMetric(float64(d.n), "records")
	if cpu > 0 {
		// CPU time of the whole process (every goroutine, the garbage
		// collector included) per query: unlike the wall-clock median, it
		// does not grow when other processes compete for the cores.
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(len(durations)), "cpu-ns/op")
	}
}

// BenchmarkQuery1M measures usage queries among benchUsageRecords()
// records (default 1,000,000): by volume (10 records), by label (all
// 5,000 records naming it), by label with Limit 100 (the oldest 100: Query
// returns records oldest first and has no newest-first order), and by
// label from a time bound that keeps its newest 100 records.
func BenchmarkQuery1M(b *testing.B) {
	d := loadBench1M(b)
	b.Run("ByVolser", func(b *testing.B) {
		runQuery1M(b, d, func(i int) (Query, int) {
			return Query{Volser: fmt.Sprintf("V%07d", i)}, d.perVolume[i]
		})
	})
	b.Run("ByAlias", func(b *testing.B) {
		runQuery1M(b, d, func(i int) (Query, int) {
			p := i % bench1MPairs
			return Query{Alias: fmt.Sprintf("LBL_%03d_%c", p, "AB"[i%2])}, d.perPair[p]
		})
	})
	b.Run("ByAliasOldest100", func(b *testing.B) {
		runQuery1M(b, d, func(i int) (Query, int) {
			p := i % bench1MPairs
			return Query{Alias: fmt.Sprintf("LBL_%03d_%c", p, "AB"[i%2]), Limit: bench1MRecent}, min(bench1MRecent, d.perPair[p])
		})
	})
	b.Run("ByAliasNewest100", func(b *testing.B) {
		runQuery1M(b, d, func(i int) (Query, int) {
			p := i % bench1MPairs
			return Query{Alias: fmt.Sprintf("LBL_%03d_%c", p, "AB"[i%2]), From: d.recentFrom}, d.recentCount[p]
		})
	})
}
