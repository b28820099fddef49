package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// restore finds the chain's last record: the last line of the current
// file, else of the newest rotated file; the anchored head wins when it is
// further (the files were cut).
func (t *Trail) restore(ctx context.Context) error {
	files, err := trailFiles(t.cfg.Dir, t.cfg.Name)
	if err != nil {
		return err
	}
	var tailErr error
	for i := len(files) - 1; i >= 0 && t.seq == 0; i-- {
		if err := t.restoreFrom(files[i]); errors.Is(err, errMalformed) {
			tailErr = err
			break
		} else if err != nil {
			return err
		}
	}
	known := true
	for _, f := range files {
		seq, err := firstSeq(f)
		if err != nil { // unknown start: no retention check; verify reports the line
			t.log.Warn("audit: cannot tell where the trail starts", "err", err)
			known = false
			break
		}
		if seq > 0 {
			t.first = seq
			break
		}
	}
	if known && t.first == 0 {
		t.first = t.seq + 1
	}
	if t.cfg.Anchor == nil {
		if tailErr != nil {
			return fmt.Errorf("%w; run keywarden audit verify", tailErr)
		}
		return nil
	}
	head, err := t.cfg.Anchor.Load(ctx)
	if err != nil {
		return fmt.Errorf("audit: open: %w", err)
	}
	if tailErr != nil {
		// Someone wrote over the end of the trail: go on after the anchor
		// rather than refuse to start; verify reports the damage.
		t.log.Error("audit: the last line of the trail is not a record; continuing after the anchored head", "err", tailErr)
		t.seq, t.prev = 0, ""
	}
	t.anchored = head
	t.first = max(t.first, head.First)
	if head.Seq > t.seq {
		t.log.Error("audit: the trail ends before its anchored head: records were removed; continuing after the anchor so that verify reports the gap",
			"last_seq", t.seq, "anchored_seq", head.Seq)
		t.seq, t.prev = head.Seq, head.MAC
	}
	return nil
}

// restoreFrom reads the last record of path, truncating a partial last
// line (a write a crash cut short, never acknowledged).
func (t *Trail) restoreFrom(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("audit: open %s: %w", path, err)
	}
	defer f.Close()
	line, end, err := lastLine(f)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > end {
		t.log.Warn("audit: removing a partial last line", "file", path, "bytes", fi.Size()-end)
		if err := f.Truncate(end); err != nil {
			return fmt.Errorf("audit: truncate partial line of %s: %w", path, err)
		}
	}
	if line == nil {
		return nil
	}
	r, err := decodeRecord(t.mac, line)
	if errors.Is(err, errMalformed) {
		return fmt.Errorf("audit: %s: the last line is %w", path, errMalformed)
	}
	if err != nil {
		t.log.Error("audit: the last record does not verify; chaining on it (audit verify reports it)", "file", path, "seq", r.Seq)
	}
	t.seq, t.prev = r.Seq, r.MAC
	return nil
}

// openFile opens the current file for appending, creating the directory
// and the file as needed. Callers hold mu.
func (t *Trail) openFile() error {
	if err := os.MkdirAll(t.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("audit: create %s: %w", t.cfg.Dir, err)
	}
	f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: open %s: %w", t.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: stat %s: %w", t.path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("audit: %s is not a regular file", t.path)
	}
	if err := syncDir(t.cfg.Dir); err != nil {
		f.Close()
		return fmt.Errorf("audit: sync %s: %w", t.cfg.Dir, err)
	}
	t.f, t.id, t.size, t.checked = f, fi, fi.Size(), time.Now()
	return nil
}

// identityCheckInterval is how often Record checks that the open file is
// still the one at the trail's path (a stat system call): at most this
// long, records go to a file that was just moved or removed.
const identityCheckInterval = 10 * time.Millisecond

// checkFile makes sure f is the file at the trail's path: it reopens the
// file after a failure, or after the file or its directory was moved or
// removed (writing on would lose the records), checking at most every
// identityCheckInterval. Callers hold mu.
func (t *Trail) checkFile() error {
	if t.f != nil {
		now := time.Now()
		if now.Sub(t.checked) < identityCheckInterval {
			return nil
		}
		fi, err := os.Stat(t.path)
		if err == nil && os.SameFile(fi, t.id) {
			t.checked = now
			return nil
		}
		t.log.Warn("audit: the audit file was moved or removed; reopening", "file", t.path)
		t.closeFile()
	}
	if err := t.openFile(); err != nil {
		t.markBroken(err)
		return err
	}
	t.markReady()
	return nil
}

// rotate closes the current file, renames it NAME.TIMESTAMP and opens a
// new one, then applies retention. Callers hold mu.
func (t *Trail) rotate() error {
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("audit: sync %s: %w", t.path, err)
	}
	t.dirty = false
	now := t.cfg.Now()
	target := filepath.Join(t.cfg.Dir, rotatedName(t.cfg.Name, now))
	for i := 1; ; i++ {
		if _, err := os.Lstat(target); err != nil {
			break
		}
		target = filepath.Join(t.cfg.Dir, fmt.Sprintf("%s-%d", rotatedName(t.cfg.Name, now), i))
	}
	t.closeFile()
	if err := os.Rename(t.path, target); err != nil {
		return fmt.Errorf("audit: rotate %s: %w", t.path, err)
	}
	if err := t.openFile(); err != nil {
		return err
	}
	t.retain(now)
	return nil
}

// closeFile closes f. Callers hold mu.
func (t *Trail) closeFile() {
	if t.f != nil {
		if t.dirty {
			_ = t.f.Sync()
			t.dirty = false
		}
		_ = t.f.Close()
		t.f, t.id = nil, nil
	}
}
