package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// retentionCheckInterval is how often the sync loop applies MaxAge to
// rotated files between rotations.
const retentionCheckInterval = time.Minute

// retain removes the rotated files beyond MaxFiles (oldest first) and
// those rotated more than MaxAge ago. Before removing anything it anchors
// the seq the trail will then start at (Head.First), so that Verify tells
// retention from files removed by hand. When the anchor cannot be updated
// nothing is removed. Callers hold mu, with every written record fsynced.
func (t *Trail) retain(now time.Time) {
	if t.cfg.MaxFiles <= 0 && t.cfg.MaxAge <= 0 {
		return
	}
	rotated, err := listRotated(t.cfg.Dir, t.cfg.Name)
	if err != nil {
		t.log.Warn("audit: retention", "err", err)
		return
	}
	n := 0 // rotated[:n] go
	for i, r := range rotated {
		tooMany := t.cfg.MaxFiles > 0 && len(rotated)-i > t.cfg.MaxFiles
		tooOld := t.cfg.MaxAge > 0 && now.Sub(r.rotated) > t.cfg.MaxAge
		if !tooMany && !tooOld {
			break // files are in rotation order: the rest is younger
		}
		n = i + 1
	}
	if n == 0 {
		return
	}
	next := t.path // the oldest file kept: a rotated one, else the current file
	if n < len(rotated) {
		next = rotated[n].path
	}
	first, err := firstSeq(next)
	if err != nil {
		t.log.Warn("audit: retention: read the oldest file kept", "err", err)
		return
	}
	if first == 0 { // an empty current file: the chain goes on with the next record
		first = t.seq + 1
	}
	if first <= t.first {
		first = t.first
	}
	if t.cfg.Anchor != nil && t.dirty {
		return // the head is not durable yet; the next rotation or check retries
	}
	if err := t.storeAnchor(Head{Seq: t.seq, MAC: t.prev, First: first, Time: now.UTC()}); err != nil {
		t.log.Warn("audit: retention postponed until the anchor holds the new start of the chain")
		return
	}
	t.first = first
	for _, r := range rotated[:n] {
		if err := os.Remove(r.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.log.Warn("audit: retention", "err", err)
			continue
		}
		t.log.Info("audit: retention removed a rotated file", "file", r.path)
	}
}

// firstSeq returns the seq of the first record of path, 0 when it has
// none.
func firstSeq(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	line, err := readLine(bufio.NewReaderSize(f, 64<<10))
	if errors.Is(err, io.EOF) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit: read %s: %w", path, err)
	}
	r, err := decodeRecord(newMAC(nil), line) // the seq only: the MAC is Verify's business
	if errors.Is(err, errMalformed) {
		return 0, fmt.Errorf("audit: %s: the first line is not an audit record", path)
	}
	return r.Seq, nil
}
