package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// BenchmarkApply compares the write path of a single server (store.Bolt)
// with a three-node cluster on loopback TLS, written through the leader
// and through a follower (forwarded). Each op is one command of two puts
// of 256 bytes, from parallel writers; p99 is reported beside ns/op.
func BenchmarkApply(b *testing.B) {
	b.Run("single-bolt", func(b *testing.B) {
		s, err := store.OpenBolt(filepath.Join(b.TempDir(), "keywarden.db"), store.BoltOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		benchApply(b, s)
	})
	for _, via := range []string{"leader", "follower"} {
		b.Run("cluster3-"+via, func(b *testing.B) {
			c := startCluster(b, 3, func(cfg *Config) {
				// Production timings: the benchmark measures the write path.
				cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = time.Second, time.Second, 500*time.Millisecond
			})
			n := c.waitLeader(nil)
			if via == "follower" {
				n = c.follower()
			}
			benchApply(b, c.nodes[n])
		})
	}
}

func benchApply(b *testing.B, s store.Store) {
	value := make([]byte, 256)
	var seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := seq.Add(1)
			var cmd store.Command
			cmd.Put("bench", fmt.Appendf(nil, "k%012d", i), value)
			cmd.Put("bench-index", fmt.Appendf(nil, "i%012d", i), value[:32])
			start := time.Now()
			if err := s.Apply(context.Background(), cmd); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
