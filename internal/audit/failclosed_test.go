package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// breakDir replaces dir by a regular file, which stops writes even for
// root (chmod does not); restore puts a directory back.
func breakDir(t *testing.T, dir string) (restore func()) {
	t.Helper()
	if err := os.Rename(dir, dir+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

// pastIdentityCheck waits until the next Record compares the open file
// with the path again.
func pastIdentityCheck() { time.Sleep(2 * identityCheckInterval) }

func TestTrailFailClosedAndRecovers(t *testing.T) {
	var failures atomic.Int64
	dir := filepath.Join(t.TempDir(), "audit")
	tr := openTrail(t, Config{Dir: dir, OnFailure: func(sink string, _ error) {
		if sink == SinkFile {
			failures.Add(1)
		}
	}})
	record(t, tr, 1, 2)
	restore := breakDir(t, dir)
	pastIdentityCheck()

	err := tr.Record(context.Background(), event(3))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Record with the directory gone: %v, want ErrUnavailable", err)
	}
	if err := tr.Ready(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ready with the directory gone: %v", err)
	}
	if tr.Stats().Failures != 1 || failures.Load() != 1 {
		t.Fatalf("stats %+v, hook %d: want one failure counted", tr.Stats(), failures.Load())
	}
	if strings.Contains(err.Error(), string(testKey)) {
		t.Fatal("error holds the key")
	}

	restore()
	// The sync loop retries on its own: Ready turns nil without a Record.
	waitFor(t, "the trail to recover", func() bool { return tr.Ready() == nil })
	record(t, tr, 4, 2)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := Search(context.Background(), dir, "", Filter{})
	if err != nil || len(recs) != 2 || recs[0].Seq != 3 || recs[0].Volser != "VOL004" {
		t.Fatalf("after recovery: %+v, %v (want the chain to go on at seq 3)", recs, err)
	}
	// The moved files and the new ones form one chain.
	moved, err := os.ReadFile(filepath.Join(dir+".moved", DefaultName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, DefaultName+".20261125T000000.000000000Z"), moved, 0o600); err != nil {
		t.Fatal(err)
	}
	if rep, err := Verify(dir, "", testKey, Head{}); err != nil || rep.Records != 4 {
		t.Fatalf("Verify of the whole chain: %+v, %v", rep, err)
	}
}

func TestTrailRecordRetriesAtOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	tr := openTrail(t, Config{Dir: dir, SyncInterval: time.Second})
	record(t, tr, 1, 1)
	restore := breakDir(t, dir)
	pastIdentityCheck()
	if err := tr.Record(context.Background(), event(2)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Record: %v", err)
	}
	restore()
	if err := tr.Record(context.Background(), event(3)); err != nil {
		t.Fatalf("the next Record after the directory is back: %v", err)
	}
	if err := tr.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
}

func TestTrailFailOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	tr := openTrail(t, Config{Dir: dir, FailOpen: true})
	restore := breakDir(t, dir)
	defer restore()
	pastIdentityCheck()
	if err := tr.Record(context.Background(), event(1)); err != nil {
		t.Fatalf("fail-open Record: %v", err)
	}
	if tr.Stats().Failures != 1 {
		t.Fatalf("stats %+v: the dropped record is not counted", tr.Stats())
	}
}

func TestOpenUnwritable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	if err := os.MkdirAll(filepath.Join(dir, DefaultName), 0o700); err != nil { // the file's path is a directory
		t.Fatal(err)
	}
	tr := openTrail(t, Config{Dir: dir})
	if err := tr.Ready(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ready: %v, want ErrUnavailable", err)
	}
	if err := tr.Record(context.Background(), event(1)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Record: %v, want ErrUnavailable", err)
	}
	if err := os.Remove(filepath.Join(dir, DefaultName)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Record(context.Background(), event(2)); err != nil {
		t.Fatalf("Record once the path is free: %v", err)
	}
}
