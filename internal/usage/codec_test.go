package usage

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

func TestCompactRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		r    Record
	}{
		{"every field", Record{Time: time.Date(2025, 1, 2, 3, 4, 5, 678901234, time.UTC), Protocol: ProtocolDevice,
			Operation: "write", Outcome: OutcomeRefused, Reason: "unknown drive", DeviceID: "dev-1", DriveSerial: "D1",
			WWN: "500507630F000001", Volser: "VOL001", Alias1: "LBL_A", Alias2: "LBL_B", KeyID: "des01"}},
		{"empty strings", Record{Time: t0, Protocol: ProtocolKMIP, Operation: "Get", Outcome: OutcomeOK}},
		{"before the epoch", Record{Time: time.Date(1969, 7, 20, 20, 17, 40, 1, time.UTC), Protocol: ProtocolKMIP, Operation: "x", Outcome: OutcomeOK}},
		{"year 0", Record{Time: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), Protocol: ProtocolKMIP, Operation: "x", Outcome: OutcomeOK}},
		{"longest field", Record{Time: t0, Protocol: ProtocolDevice, Operation: "read", Outcome: OutcomeOK, Reason: strings.Repeat("é", MaxFieldBytes/2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "0190a0b0-0000-7000-8000-000000000001"
			plain := appendRecord(nil, &tc.r)
			got, err := decodeRecord([]byte(id), plain)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.r
			want.ID = id
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			// The JSON listing of a decoded record is that of the original.
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if !bytes.Equal(gj, wj) {
				t.Fatalf("JSON %s, want %s", gj, wj)
			}
		})
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	id := []byte("id")
	good := appendRecord(nil, &Record{Time: t0, Protocol: ProtocolDevice, Operation: "write", Outcome: OutcomeOK, Volser: "V1"})
	long := appendRecord(nil, &Record{Time: t0, Protocol: ProtocolDevice, Operation: "write", Outcome: OutcomeOK})
	long = long[:len(long)-1] // drop KeyID's empty length
	long = append(long, 0x81, 0x02)
	long = append(long, bytes.Repeat([]byte("k"), MaxFieldBytes+1)...)
	tests := []struct {
		name  string
		plain []byte
	}{
		{"empty", nil},
		{"unknown format", append([]byte{2}, good[1:]...)},
		{"format byte only", []byte{recordCompact}},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"field longer than the rest", append(bytes.Clone(good[:len(good)-1]), 5)},
		{"field over the maximum", long},
		{"nanoseconds over a second", compactAt(0, uint64(time.Second))},
		{"after year 9999", compactAt(maxUnix+1, 0)},
		{"before year 0", compactAt(minUnix-1, 0)},
		{"JSON of another id", []byte(`{"id":"other"}`)},
		{"bad JSON", []byte(`{"id":`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := decodeRecord(id, tc.plain); err == nil {
				t.Fatalf("decoded %+v", r)
			}
		})
	}
	for _, plain := range [][]byte{good, compactAt(maxUnix, uint64(time.Second-1)), compactAt(minUnix, 0)} {
		if _, err := decodeRecord(id, plain); err != nil {
			t.Fatalf("valid record %x: %v", plain, err)
		}
	}
}

// compactAt returns a compact record at Unix time sec.nsec with every
// string field empty.
func compactAt(sec int64, nsec uint64) []byte {
	b := binary.AppendVarint([]byte{recordCompact}, sec)
	b = binary.AppendUvarint(b, nsec)
	return append(b, make([]byte, 11)...)
}

// appendJSON adds r the way versions before the compact encoding did: the
// record sealed as JSON, and every index entry empty.
func appendJSON(t *testing.T, l *Log, cmd *store.Command, r Record) {
	t.Helper()
	r.Time = r.Time.UTC()
	id, err := newID(r.Time)
	if err != nil {
		t.Fatal(err)
	}
	r.ID = id
	plain, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := l.seal.Seal(bucketRecords, []byte(id), plain)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Put(bucketRecords, []byte(id), sealed)
	for _, e := range l.indexKeys(r) {
		cmd.Put(bucketIndex, e.key, []byte{})
	}
}

func TestReadsRecordsStoredAsJSON(t *testing.T) {
	l, st, _ := newTestLog(t)
	ctx := context.Background()
	old := Record{Time: t0, Protocol: ProtocolDevice, Operation: "write", Outcome: OutcomeOK, DeviceID: "dev-1",
		DriveSerial: "D1", WWN: "W1", Volser: "VOL001", Alias1: "LBL_A", Alias2: "LBL_B"}
	var cmd store.Command
	appendJSON(t, l, &cmd, old)
	if err := st.Apply(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	fresh := old
	fresh.Time = t0.Add(time.Hour)
	fresh.Operation = "read"
	if err := l.Record(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    Query
	}{
		{"by label", Query{Alias: "LBL_B"}},
		{"by volume", Query{Volser: "VOL001"}},
		{"by drive", Query{DriveSerial: "D1"}},
		{"time range only", Query{From: t0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Query(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("got %d records, want 2", len(got))
			}
			for i, want := range []Record{old, fresh} {
				want.ID = got[i].ID
				if got[i] != want || got[i].ID == "" {
					t.Errorf("record %d: got %+v, want %+v", i, got[i], want)
				}
			}
		})
	}
}

// rewriteIndex replaces the value of every alias index entry with what
// change returns.
func rewriteIndex(t *testing.T, st store.Store, change func(key, value []byte) []byte) {
	t.Helper()
	var cmd store.Command
	err := st.View(func(rd store.Reader) error {
		return rd.Scan(bucketIndex, []byte{idxAlias}, nil, func(k, v []byte) (bool, error) {
			cmd.Put(bucketIndex, bytes.Clone(k), change(k, bytes.Clone(v)))
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmd.Ops) == 0 {
		t.Fatal("no alias index entries")
	}
	if err := st.Apply(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
}

func TestCoveringEntries(t *testing.T) {
	ctx := context.Background()
	r := Record{Time: t0, Protocol: ProtocolDevice, Operation: "write", Outcome: OutcomeOK, Volser: "VOL001", Alias1: "LBL_A", Alias2: "LBL_B"}
	t.Run("alias entries carry the record, others do not", func(t *testing.T) {
		l, st, _ := newTestLog(t)
		if err := l.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
		err := st.View(func(rd store.Reader) error {
			return rd.Scan(bucketIndex, nil, nil, func(k, v []byte) (bool, error) {
				if (k[0] == idxAlias) != (len(v) > 0) {
					t.Errorf("index kind %d has a %d-byte value", k[0], len(v))
				}
				return true, nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a value moved to another label fails", func(t *testing.T) {
		l, st, _ := newTestLog(t)
		if err := l.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
		values := map[string][]byte{}
		_ = st.View(func(rd store.Reader) error {
			return rd.Scan(bucketIndex, []byte{idxAlias}, nil, func(k, v []byte) (bool, error) {
				values[string(k)] = bytes.Clone(v)
				return true, nil
			})
		})
		if len(values) != 2 {
			t.Fatalf("%d alias entries, want 2", len(values))
		}
		rewriteIndex(t, st, func(key, _ []byte) []byte {
			for k, v := range values {
				if k != string(key) {
					return v // the other label's value
				}
			}
			return nil
		})
		if got, err := l.Query(ctx, Query{Alias: "LBL_A"}); err == nil {
			t.Fatalf("a swapped entry was read: %+v", got)
		}
	})
	t.Run("a flipped bit fails", func(t *testing.T) {
		l, st, _ := newTestLog(t)
		if err := l.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
		rewriteIndex(t, st, func(_, v []byte) []byte {
			v[len(v)-1] ^= 1
			return v
		})
		if got, err := l.Query(ctx, Query{Alias: "LBL_A"}); err == nil {
			t.Fatalf("a tampered entry was read: %+v", got)
		}
	})
	t.Run("an empty entry reads the record", func(t *testing.T) {
		l, st, _ := newTestLog(t)
		if err := l.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
		rewriteIndex(t, st, func(_, _ []byte) []byte { return []byte{} })
		got, err := l.Query(ctx, Query{Alias: "LBL_A"})
		if err != nil || len(got) != 1 || got[0].Volser != "VOL001" {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
}

func TestRecordRefusesUnlistableTime(t *testing.T) {
	l, _, _ := newTestLog(t)
	r := Record{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Protocol: ProtocolDevice, Operation: "write", Outcome: OutcomeOK}
	if err := l.Record(context.Background(), r); !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
}

// FuzzDecodeRecord checks that decoding never panics and that whatever
// decodes in the compact encoding encodes to bytes that decode to the same
// record.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, &Record{Time: t0, Protocol: ProtocolDevice, Operation: "write", Outcome: OutcomeOK, Volser: "V1", Alias1: "A"}))
	f.Add([]byte(`{"id":"id","time":"2024-03-01T12:00:00Z"}`))
	f.Add([]byte{recordCompact})
	f.Fuzz(func(t *testing.T, plain []byte) {
		r, err := decodeRecord([]byte("id"), plain)
		if err != nil || plain[0] != recordCompact {
			return
		}
		again, err := decodeRecord([]byte("id"), appendRecord(nil, &r))
		if err != nil || again != r {
			t.Fatalf("re-encoded %+v decodes to %+v, %v", r, again, err)
		}
	})
}
