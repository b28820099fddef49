package usage

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/store"
	"github.com/keywarden/keywarden/internal/usage/seedxml"
)

// storeSeries stores n records naming label "L", one second apart from
// t0: record i is on volume V<i> and drive D<i mod 2>.
func storeSeries(t *testing.T, l *Log, st store.Store, n int) {
	t.Helper()
	var cmd store.Command
	for i := range n {
		r := Record{Time: t0.Add(time.Duration(i) * time.Second), Protocol: ProtocolDevice, Operation: "write",
			Outcome: OutcomeOK, Volser: fmt.Sprintf("V%05d", i), DriveSerial: fmt.Sprintf("D%d", i%2), Alias1: "L"}
		if err := l.Append(&cmd, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Apply(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
}

// testBatch is the scan batch of the batch tests, small enough that their
// queries cross batches and large enough to be split over goroutines.
const testBatch = 2*minPart + 44

func TestQueryAcrossBatches(t *testing.T) {
	const (
		maxBatch = testBatch
		n        = 2*maxBatch + 300
	)
	l, st, _ := newTestLog(t)
	l.batch = maxBatch
	storeSeries(t, l, st, n)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	tests := []struct {
		name  string
		q     Query
		first int // index of the first record expected
		step  int // distance between expected records
		count int
	}{
		{"every record of the label", Query{Alias: "L"}, 0, 1, n},
		{"limit inside the first batch", Query{Alias: "L", Limit: 1}, 0, 1, 1},
		{"limit past a batch", Query{Alias: "L", Limit: maxBatch + 5}, 0, 1, maxBatch + 5},
		{"filtered by drive", Query{Alias: "L", DriveSerial: "D1"}, 1, 2, n / 2},
		{"filtered with a limit over several batches", Query{Alias: "L", DriveSerial: "D0", Limit: maxBatch}, 0, 2, maxBatch},
		{"time bounds", Query{Alias: "L", From: at(100), To: at(700)}, 100, 1, 601},
		{"time bounds on the records", Query{From: at(100), To: at(700)}, 100, 1, 601},
		{"by drive", Query{DriveSerial: "D1", From: at(200)}, 201, 2, (n - 200) / 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Query(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.count {
				t.Fatalf("got %d records, want %d", len(got), tc.count)
			}
			for k, r := range got {
				i := tc.first + k*tc.step
				if r.Volser != fmt.Sprintf("V%05d", i) || !r.Time.Equal(at(i)) || r.Alias1 != "L" || r.ID == "" {
					t.Fatalf("record %d: got %+v, want volume %d", k, r, i)
				}
			}
		})
	}
	t.Run("export with a limit past a batch", func(t *testing.T) {
		var out bytes.Buffer
		if err := l.Export(context.Background(), &out, Query{Alias: "L", Limit: maxBatch + 1}); err != nil {
			t.Fatal(err)
		}
		ev, err := seedxml.Decode(&out)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev) != maxBatch+1 || ev[maxBatch].VolSer != fmt.Sprintf("V%05d", maxBatch) {
			t.Fatalf("exported %d events", len(ev))
		}
	})
}

func TestQueryFailsOnAnyTamperedRecord(t *testing.T) {
	const n = 3 * minPart
	for _, bad := range []int{0, n / 2, n - 1} {
		t.Run(fmt.Sprintf("record %d of %d", bad, n), func(t *testing.T) {
			l, st, _ := newTestLog(t)
			l.batch = testBatch
			storeSeries(t, l, st, n)
			i := 0
			rewriteIndex(t, st, func(_, v []byte) []byte {
				if i++; i-1 == bad {
					v[len(v)-1] ^= 1
				}
				return v
			})
			if got, err := l.Query(context.Background(), Query{Alias: "L"}); err == nil {
				t.Fatalf("query succeeded with %d records", len(got))
			}
			if got, err := l.Query(context.Background(), Query{Volser: fmt.Sprintf("V%05d", bad)}); err != nil || len(got) != 1 {
				t.Fatalf("the record itself is intact: got %d records, %v", len(got), err)
			}
		})
	}
}

func TestNegativeLimit(t *testing.T) {
	l, _, _ := newTestLog(t)
	if _, err := l.Query(context.Background(), Query{Limit: -1}); err == nil {
		t.Fatal("query accepted a negative limit")
	}
	if err := l.Export(context.Background(), &bytes.Buffer{}, Query{Limit: -1}); err == nil {
		t.Fatal("export accepted a negative limit")
	}
}
