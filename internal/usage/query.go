package usage

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// Index kinds: the first byte of an index key.
const (
	idxVolser byte = iota + 1
	idxAlias       // Alias1, Alias2 and KeyID share one kind
	idxDrive
)

// indexDomain separates usage blind indexes from other users of the
// barrier's index key.
var indexDomain = []byte("usage")

// prefix returns kind | blind(value).
func (l *Log) prefix(kind byte, value string) []byte {
	blind := l.seal.IndexKey(indexDomain, []byte{kind}, []byte(value))
	return append([]byte{kind}, blind...)
}

// covered reports whether index entries of kind carry the sealed record.
func covered(kind byte) bool { return kind == idxAlias }

// indexEntry is one index key of a record and its kind.
type indexEntry struct {
	kind byte
	key  []byte
}

// indexKeys returns the index entries of r (stored r.ID).
func (l *Log) indexKeys(r Record) []indexEntry {
	var out []indexEntry
	seen := map[string]bool{}
	add := func(kind byte, v string) {
		if v == "" || seen[string(kind)+v] {
			return
		}
		seen[string(kind)+v] = true
		out = append(out, indexEntry{kind: kind, key: append(l.prefix(kind, v), r.ID...)})
	}
	add(idxVolser, r.Volser)
	add(idxAlias, r.Alias1)
	add(idxAlias, r.Alias2)
	add(idxAlias, r.KeyID)
	add(idxDrive, r.DriveSerial)
	return out
}

// Query selects records. Empty fields do not filter; the records match
// every field given.
type Query struct {
	// Volser selects one volume.
	Volser string
	// Alias matches Alias1, Alias2 or KeyID.
	Alias string
	// DriveSerial selects one drive.
	DriveSerial string
	// From and To bound the record time, both inclusive; zero is open.
	From, To time.Time
	// Limit caps the number of records returned, oldest first; 0 is no
	// limit.
	Limit int
}

// Query returns the records matching q, oldest first. A query with a
// volser, an alias or a drive is answered by a prefix scan of that index;
// a time-range-only query scans the records from From onwards.
func (l *Log) Query(ctx context.Context, q Query) ([]Record, error) {
	// The batches are kept and joined once at the end: an answer of one
	// batch is returned as it is, and a larger one costs one exact
	// allocation instead of a growing slice's copies.
	var (
		batches [][]Record
		n       int
	)
	err := l.scan(ctx, q, func(batch []Record) bool {
		if q.Limit > 0 {
			batch = batch[:min(len(batch), q.Limit-n)]
		}
		batches = append(batches, batch)
		n += len(batch)
		return q.Limit == 0 || n < q.Limit
	})
	switch {
	case err != nil:
		return nil, err
	case len(batches) == 0:
		return nil, nil
	case len(batches) == 1:
		return batches[0], nil
	}
	out := make([]Record, 0, n)
	for _, b := range batches {
		out = append(out, b...)
	}
	return out, nil
}

// scan calls fn with the records matching q in time order, a batch at a
// time, until fn returns false. Each batch is fn's to keep.
func (l *Log) scan(ctx context.Context, q Query, fn func([]Record) bool) error {
	if q.Limit < 0 {
		return fmt.Errorf("%w: negative limit", ErrInvalid)
	}
	var (
		bucket = bucketIndex
		prefix []byte
	)
	switch {
	case q.Volser != "":
		prefix = l.prefix(idxVolser, q.Volser)
	case q.Alias != "":
		prefix = l.prefix(idxAlias, q.Alias)
	case q.DriveSerial != "":
		prefix = l.prefix(idxDrive, q.DriveSerial)
	default:
		bucket = bucketRecords
	}
	var start []byte
	if !q.From.IsZero() {
		start = append(bytes.Clone(prefix), idBound(q.From)...)
	}
	toMillis := int64(-1)
	if !q.To.IsZero() {
		toMillis = q.To.UnixMilli()
	}
	size := l.batch
	if q.Limit > 0 {
		size = min(size, q.Limit)
	}
	items := make([]sealedRecord, 0, min(size, 1024))
	// flush opens the pending items and hands the matching records to fn.
	flush := func() (bool, error) {
		recs := make([]Record, len(items))
		err := l.openBatch(items, recs)
		items = items[:0]
		if err != nil {
			return false, err
		}
		n := 0
		for i := range recs {
			if !q.matches(&recs[i]) {
				continue
			}
			if n != i {
				recs[n] = recs[i]
			}
			n++
		}
		return n == 0 || fn(recs[:n]), nil
	}
	err := l.st.View(func(rd store.Reader) error {
		stopped := false
		err := rd.Scan(bucket, prefix, start, func(key, value []byte) (bool, error) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			id := key[len(prefix):]
			if toMillis >= 0 {
				if ms, ok := idMillis(id); ok && ms > toMillis {
					return false, nil
				}
			}
			switch {
			case bucket == bucketRecords:
				items = append(items, sealedRecord{key: id, sealed: value})
			case len(value) > 0:
				// A covering entry, sealed for its own key.
				items = append(items, sealedRecord{key: key, sealed: value, idAt: len(prefix)})
			default:
				sealed, err := rd.Get(bucketRecords, id)
				if err != nil {
					return false, fmt.Errorf("usage: index entry without record %q: %w", id, err)
				}
				items = append(items, sealedRecord{key: id, sealed: sealed})
			}
			if len(items) < size {
				return true, nil
			}
			more, err := flush()
			stopped = !more
			return more, err
		})
		if err != nil || stopped || len(items) == 0 {
			return err
		}
		_, err = flush()
		return err
	})
	if err != nil {
		return fmt.Errorf("usage: query: %w", err)
	}
	return nil
}

// matches applies every filter of q to r (the index only narrows).
func (q *Query) matches(r *Record) bool {
	switch {
	case q.Volser != "" && r.Volser != q.Volser,
		q.DriveSerial != "" && r.DriveSerial != q.DriveSerial,
		q.Alias != "" && r.Alias1 != q.Alias && r.Alias2 != q.Alias && r.KeyID != q.Alias,
		!q.From.IsZero() && r.Time.Before(q.From),
		!q.To.IsZero() && r.Time.After(q.To):
		return false
	}
	return true
}
