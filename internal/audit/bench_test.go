package audit

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkTrailRecord measures Record with the file sink, fsync grouped
// by the sync loop (Audit.eventQueue.max = 0: written before returning).
func BenchmarkTrailRecord(b *testing.B) {
	for _, bc := range []struct {
		name  string
		queue int
	}{{"sync", 0}, {"queue", 1024}} {
		b.Run(bc.name, func(b *testing.B) {
			tr, err := Open(context.Background(), Config{
				Dir: filepath.Join(b.TempDir(), "audit"), ChainKey: testKey, QueueMax: bc.queue,
				Anchor: &memAnchor{}, MaxSize: 64 << 20,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Close()
			e := event(1)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := tr.Record(ctx, e); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
