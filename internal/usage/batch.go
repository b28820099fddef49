package usage

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
)

// Batches of a scan: records are opened and decoded up to maxBatch at a
// time (so that a typical answer is decoded straight into the slice
// returned), over up to GOMAXPROCS goroutines once a batch holds minPart
// records per goroutine.
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
// splitting the work over the available cores.
func (l *Log) openBatch(items []sealedRecord, out []Record) error {
	parts := min(runtime.GOMAXPROCS(0), len(items)/minPart)
	if parts <= 1 {
		return l.openPart(items, out)
	}
	per := (len(items) + parts - 1) / parts
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := 1; p < parts; p++ {
		lo, hi := p*per, min((p+1)*per, len(items))
		wg.Go(func() { errs[p] = l.openPart(items[lo:hi], out[lo:hi]) })
	}
	errs[0] = l.openPart(items[:per], out[:per])
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
