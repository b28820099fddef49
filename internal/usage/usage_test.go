package usage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/store"
	"github.com/keywarden/keywarden/internal/usage/seedxml"
)

// newTestLog returns a Log on a real bbolt file and a real barrier, with
// the path of the database file.
func newTestLog(t testing.TB) (*Log, *store.Bolt, string) {
	t.Helper()
	sealed := barriertest.New(t)
	st, b := sealed.Store, sealed.Barrier
	path := filepath.Join(sealed.Dir, "keywarden.db")
	l, err := New(context.Background(), st, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l, st, path
}

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture stores a known set of records, deliberately not in time order.
func fixture(t *testing.T, l *Log) {
	t.Helper()
	recs := []Record{
		{Time: t0.Add(3 * time.Hour), Operation: "write", Volser: "VOL001", DriveSerial: "D1", Alias1: "LBL_A", Alias2: "LBL_B"},
		{Time: t0.Add(1 * time.Hour), Operation: "write", Volser: "VOL002", DriveSerial: "D2", Alias1: "LBL_B", Alias2: "LBL_C"},
		{Time: t0.Add(2 * time.Hour), Operation: "read", Volser: "VOL001", DriveSerial: "D2", Alias1: "LBL_A", Alias2: "LBL_B"},
		{Time: t0.Add(4 * time.Hour), Operation: "lto-write", Volser: "VOL003", DriveSerial: "D1", KeyID: "des01"},
		{Time: t0.Add(5 * time.Hour), Operation: "read", Outcome: OutcomeRefused, Reason: "unknown drive", DriveSerial: "D9"},
	}
	for _, r := range recs {
		r.Protocol = ProtocolDevice
		if r.Outcome == "" {
			r.Outcome = OutcomeOK
		}
		if err := l.Record(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

// summary lists the records as "VOLSER@hour" for comparison.
func summary(rs []Record) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprintf("%s@%d", r.Volser, int(r.Time.Sub(t0).Hours())))
	}
	return strings.Join(s, ",")
}

func TestQuery(t *testing.T) {
	l, _, _ := newTestLog(t)
	fixture(t, l)
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"by volser", Query{Volser: "VOL001"}, "VOL001@2,VOL001@3"},
		{"by alias1", Query{Alias: "LBL_A"}, "VOL001@2,VOL001@3"},
		{"by alias in either field", Query{Alias: "LBL_B"}, "VOL002@1,VOL001@2,VOL001@3"},
		{"by alias2 only", Query{Alias: "LBL_C"}, "VOL002@1"},
		{"by key id", Query{Alias: "des01"}, "VOL003@4"},
		{"by drive", Query{DriveSerial: "D2"}, "VOL002@1,VOL001@2"},
		{"refused drive", Query{DriveSerial: "D9"}, "@5"},
		{"time range only", Query{From: t0.Add(2 * time.Hour), To: t0.Add(4 * time.Hour)}, "VOL001@2,VOL001@3,VOL003@4"},
		{"everything", Query{}, "VOL002@1,VOL001@2,VOL001@3,VOL003@4,@5"},
		{"alias and time", Query{Alias: "LBL_B", From: t0.Add(90 * time.Minute)}, "VOL001@2,VOL001@3"},
		{"alias and drive", Query{Alias: "LBL_B", DriveSerial: "D1"}, "VOL001@3"},
		{"limit", Query{Alias: "LBL_B", Limit: 2}, "VOL002@1,VOL001@2"},
		{"unknown volser", Query{Volser: "NOPE"}, ""},
		{"volser is exact", Query{Volser: "VOL00"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Query(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if s := summary(got); s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
}

func TestRecordRefusesInvalid(t *testing.T) {
	l, _, _ := newTestLog(t)
	tests := []struct {
		name string
		r    Record
	}{
		{"no protocol", Record{Operation: "write", Outcome: OutcomeOK}},
		{"bad outcome", Record{Protocol: ProtocolKMIP, Operation: "Get", Outcome: "maybe"}},
		{"no operation", Record{Protocol: ProtocolKMIP, Outcome: OutcomeOK}},
		{"long volser", Record{Protocol: ProtocolDevice, Operation: "write", Outcome: OutcomeOK, Volser: strings.Repeat("V", MaxFieldBytes+1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := l.Record(context.Background(), tc.r); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

func TestAppendCommitsWithCaller(t *testing.T) {
	l, st, _ := newTestLog(t)
	ctx := context.Background()
	r := Record{Time: t0, Protocol: ProtocolDevice, Operation: "write", Outcome: OutcomeOK, Volser: "VOLX"}

	t.Run("failed command stores nothing", func(t *testing.T) {
		var first store.Command
		first.Put("caller", []byte("taken"), []byte("x"))
		if err := st.Apply(ctx, first); err != nil {
			t.Fatal(err)
		}
		var cmd store.Command
		cmd.RequireAbsent("caller", []byte("taken")) // the caller's precondition fails
		if err := l.Append(&cmd, r); err != nil {
			t.Fatal(err)
		}
		if err := st.Apply(ctx, cmd); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("got %v, want store.ErrConflict", err)
		}
		if got, _ := l.Query(ctx, Query{Volser: "VOLX"}); len(got) != 0 {
			t.Fatalf("got %d records after a failed command", len(got))
		}
	})
	t.Run("applied with the caller's write", func(t *testing.T) {
		var cmd store.Command
		cmd.Put("caller", []byte("k"), []byte("served"))
		if err := l.Append(&cmd, r); err != nil {
			t.Fatal(err)
		}
		if err := st.Apply(ctx, cmd); err != nil {
			t.Fatal(err)
		}
		got, err := l.Query(ctx, Query{Volser: "VOLX"})
		if err != nil || len(got) != 1 || got[0].ID == "" || !got[0].Time.Equal(t0) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
}

func readSample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("seedxml", "testdata", "seed-sample.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSeedRoundTrip(t *testing.T) {
	l, _, _ := newTestLog(t)
	ctx := context.Background()
	sample := readSample(t)
	n, err := l.Import(ctx, bytes.NewReader(sample))
	if err != nil || n != 1 {
		t.Fatalf("import: %d, %v", n, err)
	}
	got, err := l.Query(ctx, Query{Alias: "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21"})
	if err != nil || len(got) != 1 {
		t.Fatalf("query: %+v, %v", got, err)
	}
	r := got[0]
	if r.Volser != "WXY662" || r.DriveSerial != "000007888422" || r.WWN != "500507630240FBCC" ||
		r.Alias1 != "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20" || r.Alias2 != "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21" ||
		!r.Time.Equal(time.Date(2011, 10, 18, 19, 35, 8, 0, time.UTC)) {
		t.Fatalf("imported record %+v", r)
	}
	var out bytes.Buffer
	if err := l.Export(ctx, &out, Query{}); err != nil {
		t.Fatal(err)
	}
	want, err := seedxml.Decode(bytes.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	back, err := seedxml.Decode(&out)
	if err != nil {
		t.Fatalf("export does not decode: %v\n%s", err, out.String())
	}
	if len(back) != 1 || back[0] != want[0] {
		t.Fatalf("exported %+v, want %+v", back, want)
	}
}

func TestExportLTOAndSkipsNoVolser(t *testing.T) {
	l, _, _ := newTestLog(t)
	fixture(t, l)
	var out bytes.Buffer
	if err := l.Export(context.Background(), &out, Query{DriveSerial: "D1"}); err != nil {
		t.Fatal(err)
	}
	ev, err := seedxml.Decode(&out)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 2 || ev[0].VolSer != "VOL001" || ev[1].VolSer != "VOL003" || ev[1].KeyAlias1 != "des01" || ev[1].KeyAlias2 != "" {
		t.Fatalf("exported %+v", ev)
	}
	out.Reset()
	if err := l.Export(context.Background(), &out, Query{DriveSerial: "D9"}); err != nil {
		t.Fatal(err)
	}
	if ev, err := seedxml.Decode(&out); err != nil || len(ev) != 0 {
		t.Fatalf("a record without volser was exported: %+v, %v", ev, err)
	}
}

func TestMalformedImportLeavesNothing(t *testing.T) {
	l, st, _ := newTestLog(t)
	ctx := context.Background()
	good := string(readSample(t))
	bad := strings.Replace(good, "</KeyUsageEvent></KeyUsageEvents>",
		"</KeyUsageEvent>\n<KeyUsageEvent><volSer>V2</volSer><dateTime>not a date</dateTime></KeyUsageEvent></KeyUsageEvents>", 1)
	_, err := l.Import(ctx, strings.NewReader(bad))
	var serr *seedxml.Error
	if !errors.As(err, &serr) {
		t.Fatalf("got %v, want a *seedxml.Error", err)
	}
	if !strings.Contains(err.Error(), "line 9") {
		t.Errorf("error %q does not name line 9", err)
	}
	for _, b := range []string{bucketRecords, bucketIndex} {
		err := st.View(func(r store.Reader) error {
			return r.Scan(b, nil, nil, func(k, _ []byte) (bool, error) {
				return false, fmt.Errorf("bucket %s holds %x", b, k)
			})
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
}

func TestNothingInClearOnDisk(t *testing.T) {
	l, st, path := newTestLog(t)
	r := Record{Protocol: ProtocolDevice, Operation: "write", Outcome: OutcomeRefused, Reason: "reason-SECRETREASON",
		DeviceID: "dev-SECRETDEVICE", DriveSerial: "SECRETSERIAL", WWN: "SECRETWWN0001", Volser: "SECVOL",
		Alias1: "SECRET_ALIAS_ONE", Alias2: "SECRET_ALIAS_TWO", KeyID: "SECRETKEYID"}
	if err := l.Record(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Query(context.Background(), Query{Volser: "SECVOL"}); err != nil || len(got) != 1 {
		t.Fatalf("query: %+v, %v", got, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"SECRETREASON", "SECRETDEVICE", "SECRETSERIAL", "SECRETWWN0001", "SECVOL",
		"SECRET_ALIAS_ONE", "SECRET_ALIAS_TWO", "SECRETKEYID", "refused", "volser"} {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("%q appears in clear in the database file", s)
		}
	}
}
