package usage

import (
	"context"
	"fmt"
	"io"

	"github.com/keywarden/keywarden/internal/store"
	"github.com/keywarden/keywarden/internal/usage/seedxml"
)

// Export writes the records matching q that name a volume in the seed's
// KeyUsageEvent XML format. keyAlias1 and keyAlias2 carry Alias1 and
// Alias2; a record without Alias1 (LTO) carries its KeyID in keyAlias1.
func (l *Log) Export(ctx context.Context, w io.Writer, q Query) error {
	var events []seedxml.Event
	err := l.scan(ctx, q, func(batch []Record) bool {
		for _, r := range batch {
			if r.Volser == "" {
				continue
			}
			a1 := r.Alias1
			if a1 == "" {
				a1 = r.KeyID
			}
			events = append(events, seedxml.Event{
				DriveSSN: r.DriveSerial, VolSer: r.Volser, DriveWWN: r.WWN,
				KeyAlias1: a1, KeyAlias2: r.Alias2, Time: r.Time,
			})
			if q.Limit > 0 && len(events) == q.Limit {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	if err := seedxml.Encode(w, events); err != nil {
		return fmt.Errorf("usage: export: %w", err)
	}
	return nil
}

// Import reads a seed KeyUsageEvent XML file and stores its events as
// records (protocol "device", operation "imported", outcome "ok") in one
// command: a malformed file (the error names its line) or a failed write
// stores nothing. It returns the number of records stored.
func (l *Log) Import(ctx context.Context, r io.Reader) (int, error) {
	events, err := seedxml.Decode(r)
	if err != nil {
		return 0, fmt.Errorf("usage: import: %w", err)
	}
	var cmd store.Command
	for i, e := range events {
		rec := Record{
			Time: e.Time, Protocol: ProtocolDevice, Operation: OpImported, Outcome: OutcomeOK,
			DriveSerial: e.DriveSSN, WWN: e.DriveWWN, Volser: e.VolSer, Alias1: e.KeyAlias1, Alias2: e.KeyAlias2,
		}
		if err := l.Append(&cmd, rec); err != nil {
			return 0, fmt.Errorf("usage: import event %d: %w", i+1, err)
		}
	}
	if len(events) == 0 {
		return 0, nil
	}
	if err := l.st.Apply(ctx, cmd); err != nil {
		return 0, fmt.Errorf("usage: import: %w", err)
	}
	l.log.Info("usage records imported", "count", len(events))
	return len(events), nil
}
