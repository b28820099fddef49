package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTrailWritesChainedRecords(t *testing.T) {
	anchor := &memAnchor{}
	tr := openTrail(t, Config{Anchor: anchor})
	record(t, tr, 1, 3)
	if err := tr.Record(context.Background(), Event{Type: TypeServer, Protocol: ProtoServer, Operation: "start", Outcome: Success}); err != nil {
		t.Fatal(err)
	}
	// Written (not only queued) before Record returned.
	lines := readLines(t, filepath.Join(tr.cfg.Dir, DefaultName))
	if len(lines) != 4 {
		t.Fatalf("%d lines in the file after 4 records", len(lines))
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if h := anchor.get(); h.Seq != 4 || len(h.MAC) != macHexLen {
		t.Fatalf("anchored head %+v after close, want seq 4", h)
	}
	rep, err := Verify(tr.cfg.Dir, "", testKey, anchor.get())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Records != 4 || rep.FirstSeq != 1 || rep.LastSeq != 4 || !rep.AnchorChecked || rep.Files != 1 {
		t.Fatalf("report %+v", rep)
	}
	recs, err := Search(context.Background(), tr.cfg.Dir, "", Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) || (i > 0 && r.Prev != recs[i-1].MAC) || (i == 0 && r.Prev != "") {
			t.Fatalf("record %d: seq %d prev %q", i, r.Seq, r.Prev)
		}
	}
	if recs[3].Time.IsZero() || recs[0].Volser != "VOL001" || recs[0].Client.Serial != "000007888422" {
		t.Fatalf("records %+v", recs)
	}
	if _, err := Verify(tr.cfg.Dir, "", []byte("another key of 16 bytes"), Head{}); !errors.Is(err, ErrTampered) {
		t.Fatalf("Verify under another key: %v, want ErrTampered", err)
	}
}

func TestTrailAfterClose(t *testing.T) {
	tr := openTrail(t, Config{})
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Record(context.Background(), event(1)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Record after Close: %v, want ErrUnavailable", err)
	}
	if err := tr.Ready(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ready after Close: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestTrailRotation(t *testing.T) {
	clk := newClock()
	tr := openTrail(t, Config{MaxSize: 4096, Now: clk.now})
	record(t, tr, 1, 60)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	rotated, err := listRotated(tr.cfg.Dir, DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	if len(rotated) < 3 {
		t.Fatalf("%d rotated files after 60 records of 4 KiB files", len(rotated))
	}
	files, _ := trailFiles(tr.cfg.Dir, DefaultName)
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 4096 || fi.Size() == 0 {
			t.Errorf("%s: %d bytes, want 1 to 4096", f, fi.Size())
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", f, fi.Mode())
		}
	}
	rep, err := Verify(tr.cfg.Dir, "", testKey, Head{})
	if err != nil || rep.Records != 60 || rep.Files != len(rotated)+1 {
		t.Fatalf("Verify across rotated files: %+v, %v", rep, err)
	}
}

func TestTrailRetention(t *testing.T) {
	tests := []struct {
		name     string
		maxFiles int
		maxAge   time.Duration
		advance  time.Duration // clock jump before the last records
		wantMax  int           // rotated files left at most
	}{
		{"by count", 2, 0, 0, 2},
		{"by age", 0, time.Hour, 2 * time.Hour, 2}, // only files rotated after the jump
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			tr := openTrail(t, Config{MaxSize: 4096, MaxFiles: tt.maxFiles, MaxAge: tt.maxAge, Now: clk.now})
			record(t, tr, 1, 60)
			clk.advance(tt.advance)
			record(t, tr, 61, 15) // at least one more rotation
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
			rotated, err := listRotated(tr.cfg.Dir, DefaultName)
			if err != nil {
				t.Fatal(err)
			}
			if len(rotated) == 0 || len(rotated) > tt.wantMax {
				t.Fatalf("%d rotated files left, want 1 to %d", len(rotated), tt.wantMax)
			}
			rep, err := Verify(tr.cfg.Dir, "", testKey, Head{})
			if err != nil {
				t.Fatalf("Verify after retention: %v", err)
			}
			if rep.FirstSeq <= 1 || rep.LastSeq != 75 {
				t.Fatalf("report %+v: want the chain to start after the removed files and end at 75", rep)
			}
		})
	}
}

func TestTrailReopenContinuesChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	anchor := &memAnchor{}
	tr := openTrail(t, Config{Dir: dir, Anchor: anchor})
	record(t, tr, 1, 3)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash cut the last write short: Open removes the partial line.
	f, err := os.OpenFile(filepath.Join(dir, DefaultName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"seq":4,"time":"2026-`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tr = openTrail(t, Config{Dir: dir, Anchor: anchor})
	record(t, tr, 4, 2)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir, "", testKey, anchor.get())
	if err != nil || rep.Records != 5 || rep.LastSeq != 5 {
		t.Fatalf("Verify after reopen: %+v, %v", rep, err)
	}
}

func TestTrailAnchorAheadOfFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	anchor := &memAnchor{}
	tr := openTrail(t, Config{Dir: dir, Anchor: anchor})
	record(t, tr, 1, 5)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DefaultName)
	writeLines(t, path, readLines(t, path)[:3]) // records 4 and 5 cut off while the server was down
	tr = openTrail(t, Config{Dir: dir, Anchor: anchor})
	record(t, tr, 6, 1)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := Verify(dir, "", testKey, anchor.get())
	var p *Problem
	if !errors.As(err, &p) || p.Kind != KindRemoved || p.Seq != 4 || p.Line != 4 {
		t.Fatalf("Verify: %v, want records 4-5 reported removed at line 4", err)
	}
}

func TestTrailFilters(t *testing.T) {
	tr := openTrail(t, Config{Types: []Type{TypeKey, TypeAuth}, Outcomes: []Outcome{Failure, Denied}})
	for _, e := range []Event{
		{Type: TypeKey, Outcome: Success, Operation: "kept out: success"},
		{Type: TypeKey, Outcome: Denied, Operation: "kept"},
		{Type: TypeQuery, Outcome: Failure, Operation: "kept out: query"},
		{Type: TypeAuth, Outcome: Failure, Operation: "kept"},
	} {
		if err := tr.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := tr.Search(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Operation != "kept" || recs[1].Operation != "kept" {
		t.Fatalf("records %+v", recs)
	}
}

func TestTrailQueue(t *testing.T) {
	anchor := &memAnchor{}
	tr := openTrail(t, Config{QueueMax: 8, Anchor: anchor})
	record(t, tr, 1, 50)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(tr.cfg.Dir, "", testKey, anchor.get())
	if err != nil || rep.Records != 50 || !rep.AnchorChecked {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no dir", Config{ChainKey: testKey}, "Dir"},
		{"short key", Config{Dir: "x", ChainKey: []byte("short")}, "ChainKey"},
		{"path as name", Config{Dir: "x", ChainKey: testKey, Name: "../audit.log"}, "Name"},
		{"tiny size", Config{Dir: "x", ChainKey: testKey, MaxSize: 10}, "MaxSize"},
		{"unknown type", Config{Dir: "x", ChainKey: testKey, Types: []Type{"keys"}}, "Types"},
		{"unknown outcome", Config{Dir: "x", ChainKey: testKey, Outcomes: []Outcome{"ok"}}, "Outcomes"},
		{"syslog network", Config{Dir: "x", ChainKey: testKey, Syslog: &SyslogConfig{Network: "http", Address: "h:1"}}, "Network"},
		{"syslog tls without config", Config{Dir: "x", ChainKey: testKey, Syslog: &SyslogConfig{Network: "tls", Address: "h:1"}}, "TLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open: %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestParseProperties(t *testing.T) {
	types, err := ParseTypes("all")
	if err != nil || types != nil {
		t.Fatalf("ParseTypes(all) = %v, %v", types, err)
	}
	types, err = ParseTypes("key, auth")
	if err != nil || len(types) != 2 || types[1] != TypeAuth {
		t.Fatalf("ParseTypes = %v, %v", types, err)
	}
	if _, err := ParseTypes("keys"); err == nil {
		t.Fatal("ParseTypes(keys) accepted")
	}
	outs, err := ParseOutcomes("success,failure")
	if err != nil || len(outs) != 4 || !contains(outs, Denied) || !contains(outs, Undone) {
		t.Fatalf("ParseOutcomes(success,failure) = %v, %v: a denial or an undone request is a failure to the seed", outs, err)
	}
	if _, err := ParseOutcomes("maybe"); err == nil {
		t.Fatal("ParseOutcomes(maybe) accepted")
	}
}

func TestRetentionIsAnchored(t *testing.T) {
	anchor := &memAnchor{}
	clk := newClock()
	tr := openTrail(t, Config{MaxSize: 4096, MaxFiles: 2, Anchor: anchor, Now: clk.now})
	record(t, tr, 1, 60)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	head := anchor.get()
	rep, err := Verify(tr.cfg.Dir, "", testKey, head)
	if err != nil || head.First <= 1 || rep.FirstSeq != head.First {
		t.Fatalf("after retention: head %+v, report %+v, %v", head, rep, err)
	}
	// Removing the oldest kept file by hand is not retention.
	rotated, err := listRotated(tr.cfg.Dir, DefaultName)
	if err != nil || len(rotated) != 2 {
		t.Fatalf("rotated %v, %v", rotated, err)
	}
	if err := os.Remove(rotated[0].path); err != nil {
		t.Fatal(err)
	}
	_, err = Verify(tr.cfg.Dir, "", testKey, head)
	var p *Problem
	if !errors.As(err, &p) || p.Kind != KindRemoved || p.Seq != head.First || p.File != rotated[1].path || p.Line != 1 {
		t.Fatalf("Verify: %v, want records from seq %d removed at %s line 1", err, head.First, rotated[1].path)
	}
}

func TestRetentionByAgeWithoutRotation(t *testing.T) {
	clk := newClock()
	anchor := &memAnchor{}
	tr := openTrail(t, Config{MaxSize: 4096, MaxAge: time.Hour, Now: clk.now, SyncInterval: time.Second, Anchor: anchor})
	record(t, tr, 1, 30)
	if n, _ := listRotated(tr.cfg.Dir, DefaultName); len(n) == 0 {
		t.Fatal("no rotated file")
	}
	clk.advance(2 * time.Hour)
	tr.flush() // what the sync loop does at least once a minute
	if n, _ := listRotated(tr.cfg.Dir, DefaultName); len(n) != 0 {
		t.Fatalf("%d rotated files older than MaxAge left", len(n))
	}
	if rep, err := tr.Verify(context.Background()); err != nil || rep.LastSeq != 30 || rep.FirstSeq != anchor.get().First {
		t.Fatalf("Verify: %+v, %v (anchored %+v)", rep, err, anchor.get())
	}
}

func TestOpenOverwrittenTail(t *testing.T) {
	for _, withAnchor := range []bool{true, false} {
		t.Run(map[bool]string{true: "anchored", false: "no anchor"}[withAnchor], func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "audit")
			cfg := Config{Dir: dir, ChainKey: testKey}
			anchor := &memAnchor{}
			if withAnchor {
				cfg.Anchor = anchor
			}
			tr, err := Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			record(t, tr, 1, 3)
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, DefaultName)
			lines := readLines(t, path)
			writeLines(t, path, append(lines[:2], []byte("garbage\n")))
			tr, err = Open(context.Background(), cfg)
			if !withAnchor {
				if err == nil || !strings.Contains(err.Error(), "not an audit record") {
					t.Fatalf("Open without an anchor: %v, want a refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open with an anchor: %v", err)
			}
			record(t, tr, 4, 1)
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
			if h := anchor.get(); h.Seq != 4 {
				t.Fatalf("head %+v: want the chain to go on after the anchored seq 3", h)
			}
			_, err = Verify(dir, "", testKey, anchor.get())
			var p *Problem
			if !errors.As(err, &p) || p.Kind != KindAltered || p.Line != 3 {
				t.Fatalf("Verify: %v, want the overwritten line 3 reported", err)
			}
		})
	}
}
