package bench

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// auditConns is the number of connections of BenchmarkGetAudit, as in
// BenchmarkGet/conns=16.
const auditConns = 16

// minRecordBytes is less than any Get record of the trail takes: seq,
// time, node, certificate fingerprint, object id, the previous MAC and
// its own MAC (two times 64 hex digits) alone exceed it.
const minRecordBytes = 300

// BenchmarkGetAudit measures Get over 16 connections against two servers
// started in the same run: audit=off keeps no trail (audit.Discard, what
// server.Config.NoAuditTrail sets), audit=file keeps the server's default
// trail in DIR/audit (Audit.eventQueue.max = 0: each record is written to
// the file before the answer; fsync grouped at most 100 ms apart; HMAC
// chain; anchor in the store). The ratio of the two ops/s figures is the
// cost of the trail (docs/BENCHMARKS.md); so is the inverse ratio of
// cpu-µs/op, the process's CPU time (client and server) per Get, which
// other processes on a shared machine hardly move. The file run checks
// that the trail grew by at least one record per Get and reports its
// bytes per Get; the off run checks that no trail was written.
func BenchmarkGetAudit(b *testing.B) {
	off := newGetFixture(b, testenv.WithAudit(audit.Discard))
	file := newGetFixture(b) // no recorder given: the server opens its file trail
	for _, bc := range []struct {
		name  string
		f     *getFixture
		trail bool
	}{
		{"audit=off", off, false},
		{"audit=file", file, true},
	} {
		b.Run(bc.name+"/conns=16", func(b *testing.B) {
			dir := filepath.Join(bc.f.env.DataDir, server.AuditDir)
			pool := dialPool(b, bc.f.env.KMIPAddr, bc.f.conf, auditConns)
			before := trailBytes(b, dir)
			cpu0, cpuOK := processCPU()
			runWorkers(b, auditConns, func(w, i int) error { return bc.f.get(pool[w], i) })
			if cpu1, ok := processCPU(); ok && cpuOK {
				// Client and server, per Get: unlike ops/s, other
				// processes on a shared machine hardly move it.
				b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			}
			grew := trailBytes(b, dir) - before
			switch {
			case !bc.trail && grew != 0:
				b.Fatalf("audit off, yet %s grew by %d bytes", dir, grew)
			case bc.trail && grew < int64(b.N)*minRecordBytes:
				b.Fatalf("the trail grew by %d bytes for %d Gets: fewer records than requests", grew, b.N)
			case bc.trail:
				b.ReportMetric(float64(grew)/float64(b.N), "audit-B/op")
			}
		})
	}
}

// trailBytes is the size of every file in the audit directory dir (the
// current file and the rotated ones), 0 when there is no such directory.
func trailBytes(tb testing.TB, dir string) int64 {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			tb.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}
