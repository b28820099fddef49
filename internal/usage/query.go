package usage

import (
	"bytes"
	"context"
	"encoding/json"
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

// indexKeys returns the index keys of r (stored r.ID).
func (l *Log) indexKeys(r Record) [][]byte {
	var out [][]byte
	seen := map[string]bool{}
	add := func(kind byte, v string) {
		if v == "" || seen[string(kind)+v] {
			return
		}
		seen[string(kind)+v] = true
		out = append(out, append(l.prefix(kind, v), r.ID...))
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
	if q.Limit < 0 {
		return nil, fmt.Errorf("%w: negative limit", ErrInvalid)
	}
	var out []Record
	err := l.scan(ctx, q, func(r Record) bool {
		out = append(out, r)
		return q.Limit == 0 || len(out) < q.Limit
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scan calls fn for each record matching q in time order until fn
// returns false.
func (l *Log) scan(ctx context.Context, q Query, fn func(Record) bool) error {
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
	err := l.st.View(func(rd store.Reader) error {
		return rd.Scan(bucket, prefix, start, func(key, value []byte) (bool, error) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			id := key[len(prefix):]
			if ms, ok := idMillis(id); ok && toMillis >= 0 && ms > toMillis {
				return false, nil
			}
			sealed := value
			if bucket == bucketIndex {
				v, err := rd.Get(bucketRecords, id)
				if err != nil {
					return false, fmt.Errorf("usage: index entry without record %q: %w", id, err)
				}
				sealed = v
			}
			r, err := l.open(id, sealed)
			if err != nil {
				return false, err
			}
			if !q.matches(r) {
				return true, nil
			}
			return fn(r), nil
		})
	})
	if err != nil {
		return fmt.Errorf("usage: query: %w", err)
	}
	return nil
}

// open authenticates and decodes one stored record.
func (l *Log) open(id, sealed []byte) (Record, error) {
	plain, err := l.seal.Open(bucketRecords, id, sealed)
	if err != nil {
		l.log.Error("usage record failed authentication", "id", string(id), "err", err)
		return Record{}, fmt.Errorf("usage: record %q failed authentication", id)
	}
	var r Record
	err = json.Unmarshal(plain, &r)
	clear(plain)
	if err != nil || r.ID != string(id) {
		l.log.Error("usage record failed to decode", "id", string(id), "err", err)
		return Record{}, fmt.Errorf("usage: record %q is corrupted", id)
	}
	return r, nil
}

// matches applies every filter of q to r (the index only narrows).
func (q Query) matches(r Record) bool {
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
