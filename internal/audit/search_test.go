package audit

import (
	"context"
	"testing"
	"time"
)

func TestSearch(t *testing.T) {
	tr := openTrail(t, Config{MaxSize: 4096})
	record(t, tr, 1, 20) // device write-key events, VOL001…VOL020, one a second from 12:00:01
	for _, e := range []Event{
		{Time: time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC), Type: TypeKey, Protocol: ProtoKMIP, Operation: "Get",
			Client: Client{Name: "library-1", Fingerprint: "AB12"}, Objects: []string{"obj-1"}, Outcome: Success},
		{Time: time.Date(2026, 11, 25, 13, 0, 1, 0, time.UTC), Type: TypeKey, Protocol: ProtoKMIP, Operation: "Get",
			Client: Client{Name: "library-1"}, Objects: []string{"obj-2"}, Outcome: Denied, Reason: "permission denied"},
		{Time: time.Date(2026, 11, 25, 13, 0, 2, 0, time.UTC), Type: TypeLifecycle, Protocol: ProtoAdmin, Operation: "key.destroy",
			Client: Client{Name: "admin", Role: "admin"}, Objects: []string{"obj-1"}, Outcome: Success},
	} {
		if err := tr.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	at := func(s int) time.Time { return time.Date(2026, 11, 25, 12, 0, s, 0, time.UTC) }
	tests := []struct {
		name  string
		f     Filter
		seqs  []uint64
		count int // when seqs is nil
	}{
		{"all", Filter{}, nil, 23},
		{"since and until inclusive", Filter{Since: at(5), Until: at(7)}, []uint64{5, 6, 7}, 0},
		{"volser", Filter{Volser: "vol012"}, []uint64{12}, 0},
		{"device by serial", Filter{Device: "000007888422"}, nil, 20},
		{"device by id", Filter{Device: "drive-1"}, nil, 20},
		{"device by fingerprint", Filter{Device: "ab12"}, []uint64{21}, 0},
		{"object", Filter{Object: "obj-1"}, []uint64{21, 23}, 0},
		{"label", Filter{Label: "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21", Since: at(19)}, []uint64{19, 20}, 0},
		{"outcome", Filter{Outcome: Denied}, []uint64{22}, 0},
		{"operation", Filter{Operation: "get"}, []uint64{21, 22}, 0},
		{"type", Filter{Type: TypeLifecycle}, []uint64{23}, 0},
		{"limit keeps the last", Filter{Device: "drive-1", Limit: 3}, []uint64{18, 19, 20}, 0},
		{"nothing", Filter{Volser: "NOSUCH"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := tr.Search(context.Background(), tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if tt.seqs == nil {
				if len(recs) != tt.count {
					t.Fatalf("%d records, want %d", len(recs), tt.count)
				}
				return
			}
			var got []uint64
			for _, r := range recs {
				got = append(got, r.Seq)
			}
			if len(got) != len(tt.seqs) {
				t.Fatalf("seqs %v, want %v", got, tt.seqs)
			}
			for i := range got {
				if got[i] != tt.seqs[i] {
					t.Fatalf("seqs %v, want %v", got, tt.seqs)
				}
			}
		})
	}
}
