package usage

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// Batches of a scan: records are opened and decoded up to maxBatch at a
// time (so that a typical answer is decoded straight into the slice
// returned), in parts of minPart records shared by up to GOMAXPROCS
// goroutines.
const (
	maxBatch = 1 << 16
	minPart  = 128
)

// sealedRecord is one stored record a scan found: sealed at bucket/key,
// where bucket is bucketRecords and key the record id when idAt is 0, or
// bucketIndex and key a covering index entry whose id starts at idAt. Its
// slices belong to the store's read transaction.
type sealedRecord struct {
	key, sealed []byte
	idAt        int
}

// where returns the bucket, key and record id of it.
func (it *sealedRecord) where() (bucket string, key, id []byte) {
	if it.idAt == 0 {
		return bucketRecords, it.key, it.key
	}
	return bucketIndex, it.key, it.key[it.idAt:]
}

// openBatch authenticates and decodes items into out (of the same length),
// in parts of minPart records that up to GOMAXPROCS goroutines, the
// caller's among them, take in turn: a goroutine that is not scheduled
// (the cores may be busy) delays the batch by one part at most.
func (l *Log) openBatch(items []sealedRecord, out []Record) error {
	parts := (len(items) + minPart - 1) / minPart
	workers := min(runtime.GOMAXPROCS(0), parts)
	if workers <= 1 {
		return l.openPart(items, out)
	}
	var (
		next atomic.Int64
		errs = make([]error, parts)
		wg   sync.WaitGroup
	)
	work := func() {
		for {
			p := int(next.Add(1)) - 1
			if p >= parts {
				return
			}
			lo, hi := p*minPart, min((p+1)*minPart, len(items))
			errs[p] = l.openPart(items[lo:hi], out[lo:hi])
		}
	}
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// openPart authenticates and decodes items into out in one goroutine. The
// ids and bodies of compact records are gathered into one string that
// every field of every record shares: one allocation for the part instead
// of one or more per record.
func (l *Log) openPart(items []sealedRecord, out []Record) error {
	// pending is a compact record written at base in the shared string.
	type pending struct {
		i, base, idLen int
		f              compactFields
	}
	size := 0
	for _, it := range items {
		size += len(it.key) + len(it.sealed)
	}
	var sb strings.Builder
	sb.Grow(size)
	pend := make([]pending, 0, len(items))
	for i := range items {
		bucket, key, id := items[i].where()
		plain, err := l.seal.Open(bucket, key, items[i].sealed)
		if err != nil {
			l.log.Error("usage record failed authentication", "id", string(id), "bucket", bucket, "err", err)
			return fmt.Errorf("usage: record %q failed authentication", id)
		}
		if len(plain) > 0 && plain[0] == recordCompact {
			var f compactFields
			if f, err = parseCompact(plain[1:]); err == nil {
				pend = append(pend, pending{i: i, base: sb.Len(), idLen: len(id), f: f})
				sb.Write(id)
				sb.Write(plain[1:])
			}
		} else {
			out[i], err = decodeRecord(id, plain)
		}
		clear(plain)
		if err != nil {
			l.log.Error("usage record failed to decode", "id", string(id), "bucket", bucket, "err", err)
			return fmt.Errorf("usage: record %q is corrupted", id)
		}
	}
	s := sb.String()
	for _, p := range pend {
		out[p.i] = p.f.record(s, p.base, p.idLen)
	}
	return nil
}
