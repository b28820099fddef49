package usage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// BenchmarkQueryByAlias queries one label among 100,000 records spread
// over 1,000 label pairs (about 200 matches: the label is alias1 of one
// pair and alias2 of another).
func BenchmarkQueryByAlias(b *testing.B) {
	const records, labels, batch = 100_000, 1000, 2000
	l, st, _ := newTestLog(b)
	ctx := context.Background()
	for i := 0; i < records; i += batch {
		var cmd store.Command
		for j := i; j < i+batch; j++ {
			r := Record{
				Time: t0.Add(time.Duration(j) * time.Second), Protocol: ProtocolDevice, Operation: "write", Outcome: OutcomeOK,
				Volser: fmt.Sprintf("V%05d", j), DriveSerial: fmt.Sprintf("D%03d", j%97),
				Alias1: fmt.Sprintf("LBL_%04d", j%labels), Alias2: fmt.Sprintf("LBL_%04d", (j+1)%labels),
			}
			if err := l.Append(&cmd, r); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.Apply(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; b.Loop(); i++ {
		got, err := l.Query(ctx, Query{Alias: fmt.Sprintf("LBL_%04d", i%labels)})
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != 2*records/labels {
			b.Fatalf("got %d records", len(got))
		}
	}
}
