package audit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// chainFixture writes 40 records over several 4 KiB files and returns the
// directory, the files in chain order and the anchored head.
func chainFixture(t *testing.T) (string, []string, Head) {
	t.Helper()
	anchor := &memAnchor{}
	clk := newClock()
	tr := openTrail(t, Config{MaxSize: 4096, Anchor: anchor, Now: clk.now})
	record(t, tr, 1, 40)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := trailFiles(tr.cfg.Dir, DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 || len(readLines(t, files[len(files)-1])) < 3 {
		t.Fatalf("fixture: %d files; want at least 3 and 3 records in the current one", len(files))
	}
	return tr.cfg.Dir, files, anchor.get()
}

// seqAt is the seq of line i (0-based) of path.
func seqAt(t *testing.T, path string, i int) uint64 {
	t.Helper()
	r, err := decodeRecord(newMAC(testKey), bytes.TrimSuffix(readLines(t, path)[i], []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	return r.Seq
}

func TestVerifyFindsTampering(t *testing.T) {
	type want struct {
		kind string
		file int // index in the files, -1 for the last
		line int
		seq  func(t *testing.T, files []string) uint64
	}
	at := func(file, line int) func(*testing.T, []string) uint64 {
		return func(t *testing.T, files []string) uint64 { return seqAt(t, files[file], line) }
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, files []string)
		want   want
	}{
		{"byte flipped", func(t *testing.T, files []string) {
			lines := readLines(t, files[1])
			i := bytes.Index(lines[2], []byte("VOL")) + 3
			lines[2][i] ^= 0x01 // VOL0xx → VOL1xx: valid JSON, wrong MAC
			writeLines(t, files[1], lines)
		}, want{KindAltered, 1, 3, at(1, 2)}},
		{"MAC flipped", func(t *testing.T, files []string) {
			lines := readLines(t, files[0])
			n := len(lines[1])
			lines[1][n-4] ^= 0x01
			writeLines(t, files[0], lines)
		}, want{KindAltered, 0, 2, at(0, 1)}},
		{"line deleted", func(t *testing.T, files []string) {
			lines := readLines(t, files[1])
			writeLines(t, files[1], append(lines[:1:1], lines[2:]...))
		}, want{KindRemoved, 1, 2, func(t *testing.T, files []string) uint64 { return seqAt(t, files[1], 0) + 1 }}},
		{"two lines swapped", func(t *testing.T, files []string) {
			lines := readLines(t, files[1])
			lines[1], lines[2] = lines[2], lines[1]
			writeLines(t, files[1], lines)
		}, want{KindReordered, 1, 2, at(1, 2)}}, // the record now at line 2 came from line 3
		{"last records cut off", func(t *testing.T, files []string) {
			last := files[len(files)-1]
			lines := readLines(t, last)
			writeLines(t, last, lines[:len(lines)-2])
		}, want{KindRemoved, -1, -1, nil}},
		{"last record cut off", func(t *testing.T, files []string) {
			last := files[len(files)-1]
			lines := readLines(t, last)
			writeLines(t, last, lines[:len(lines)-1])
		}, want{KindRemoved, -1, -1, nil}},
		{"middle rotated file removed", func(t *testing.T, files []string) {
			if err := os.Remove(files[1]); err != nil {
				t.Fatal(err)
			}
		}, want{KindRemoved, 2, 1, func(t *testing.T, files []string) uint64 {
			return seqAt(t, files[0], len(readLines(t, files[0]))-1) + 1
		}}},
		{"garbage line", func(t *testing.T, files []string) {
			lines := readLines(t, files[0])
			lines[0] = []byte("hello\n")
			writeLines(t, files[0], lines)
		}, want{KindAltered, 0, 1, func(*testing.T, []string) uint64 { return 0 }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, files, head := chainFixture(t)
			if _, err := Verify(dir, "", testKey, head); err != nil {
				t.Fatalf("untouched trail: %v", err)
			}
			lastFile := files[len(files)-1]
			lastLines := len(readLines(t, lastFile))
			var wantSeq uint64
			if tt.want.seq != nil {
				wantSeq = tt.want.seq(t, files)
			}
			tt.tamper(t, files)
			wantFile, wantLine := lastFile, tt.want.line
			if tt.want.file >= 0 {
				wantFile = files[tt.want.file]
			}
			if tt.want.seq == nil { // cut off at the end: one past the new last line
				wantLine = len(readLines(t, lastFile)) + 1
				wantSeq = head.Seq - uint64(lastLines-len(readLines(t, lastFile))) + 1
			}
			rep, err := Verify(dir, "", testKey, head)
			var p *Problem
			if !errors.As(err, &p) || !errors.Is(err, ErrTampered) || rep.Problem == nil {
				t.Fatalf("Verify: %v, want a *Problem", err)
			}
			if p.Kind != tt.want.kind || p.File != wantFile || p.Line != wantLine || p.Seq != wantSeq {
				t.Fatalf("problem %+v\nwant %s at %s line %d seq %d", p, tt.want.kind, filepath.Base(wantFile), wantLine, wantSeq)
			}
		})
	}
}

func TestVerifyWithoutAnchorMissesNothingElse(t *testing.T) {
	dir, files, _ := chainFixture(t)
	// Without the anchor, a cut at the end is invisible: that is what the
	// anchor is for. Everything before stays checked.
	last := files[len(files)-1]
	lines := readLines(t, last)
	writeLines(t, last, lines[:len(lines)-1])
	if _, err := Verify(dir, "", testKey, Head{}); err != nil {
		t.Fatalf("Verify without anchor: %v", err)
	}
}

func TestVerifyRecordsAfterAnchor(t *testing.T) {
	// The anchor lags one fsync group: records after it verify as a chain.
	dir, files, head := chainFixture(t)
	older := Head{Seq: head.Seq - 2}
	r, err := decodeRecord(newMAC(testKey), bytes.TrimSuffix(readLines(t, files[len(files)-1])[len(readLines(t, files[len(files)-1]))-3], []byte("\n")))
	if err != nil || r.Seq != older.Seq {
		t.Fatalf("fixture: %+v %v", r, err)
	}
	older.MAC = r.MAC
	rep, err := Verify(dir, "", testKey, older)
	if err != nil || !rep.AnchorChecked || rep.LastSeq != head.Seq {
		t.Fatalf("Verify with a lagging anchor: %+v, %v", rep, err)
	}
	// An anchor naming another chain's record is an alteration.
	older.MAC = head.MAC
	if _, err := Verify(dir, "", testKey, older); !errors.Is(err, ErrTampered) {
		t.Fatalf("Verify with a foreign anchor MAC: %v", err)
	}
}

func TestVerifyEmptyTrail(t *testing.T) {
	dir := t.TempDir()
	if rep, err := Verify(dir, "", testKey, Head{}); err != nil || rep.Records != 0 {
		t.Fatalf("empty trail: %+v, %v", rep, err)
	}
	_, err := Verify(dir, "", testKey, Head{Seq: 3, MAC: "00"})
	var p *Problem
	if !errors.As(err, &p) || p.Kind != KindRemoved || p.Seq != 1 {
		t.Fatalf("empty trail with an anchor: %v", err)
	}
	if _, err := Verify(dir, "", testKey, Head{Seq: 30, MAC: "00", First: 31}); err != nil {
		t.Fatalf("empty trail after retention removed every record up to the anchor: %v", err)
	}
}

func TestTrailVerifyMethod(t *testing.T) {
	anchor := &memAnchor{}
	tr := openTrail(t, Config{Anchor: anchor, SyncInterval: 10 * time.Millisecond})
	record(t, tr, 1, 5)
	waitFor(t, "the anchor", func() bool { return anchor.get().Seq == 5 })
	rep, err := tr.Verify(context.Background())
	if err != nil || !rep.AnchorChecked || rep.Records != 5 {
		t.Fatalf("Trail.Verify: %+v, %v", rep, err)
	}
}
