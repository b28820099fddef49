// Package usage keeps the key-usage records: for every key served or
// refused, which drive asked, for which volume, under which key aliases or
// key identifier, when and with what outcome. It answers the auditor's
// question "which volumes were written with this key?" through blind
// indexes, and imports and exports the seed's KeyUsageEvent XML (see
// package seedxml).
//
// Records never hold key material. Each record is sealed by the barrier in
// bucket "usage" under a time-ordered id (a UUIDv7 whose timestamp is the
// record's time); bucket "usageidx" holds one entry per indexed value:
// kind | IndexKey(value) | id, so a query by volser, alias or drive is a
// prefix scan that lists records oldest first, and indexed values never
// appear in clear on disk. Entries of the alias kind (the question asked
// of a key to dispose of) are covering: their value is the record again,
// sealed for that index key, so such a query reads one bucket in order
// instead of looking each record up; other entries are empty and lead to
// the record by its id. Records are stored in a compact binary encoding
// (codec.go); records stored as JSON by earlier versions, and alias
// entries without a value, are still read.
package usage

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/keywarden/keywarden/internal/store"
)

// Buckets used by the usage log.
const (
	bucketRecords = "usage"
	bucketIndex   = "usageidx"
)

// Protocols a record may name.
const (
	ProtocolDevice = "device"
	ProtocolKMIP   = "kmip"
)

// Outcomes a record may name.
const (
	OutcomeOK      = "ok"
	OutcomeRefused = "refused"
	OutcomeFailed  = "failed"
)

// OpImported is the operation of records read from a seed XML file, which
// does not say which operation served the key.
const OpImported = "imported"

// MaxFieldBytes bounds every string field of a record.
const MaxFieldBytes = 256

// ErrInvalid reports a record or query that cannot be stored or answered.
var ErrInvalid = errors.New("usage: invalid")

// Sealer seals and opens stored values and derives blind index keys. The
// barrier implements it.
type Sealer interface {
	Seal(bucket string, key, plaintext []byte) ([]byte, error)
	Open(bucket string, key, sealed []byte) ([]byte, error)
	IndexKey(parts ...[]byte) []byte
}

// Record is one key-usage event. No field holds key material: aliases
// are key labels, KeyID a key identifier.
type Record struct {
	// ID is the record's time-ordered identifier, set when stored.
	ID string `json:"id"`
	// Time is when the key was served or refused.
	Time time.Time `json:"time"`
	// Protocol is "device" or "kmip".
	Protocol string `json:"protocol"`
	// Operation is "write", "read", "rekey", "lto-write", "lto-read",
	// "disk-create", "disk-unlock", a KMIP operation name, or "imported".
	Operation string `json:"operation"`
	// Outcome is "ok", "refused" or "failed".
	Outcome string `json:"outcome"`
	// Reason explains a refusal or failure.
	Reason string `json:"reason,omitempty"`
	// DeviceID is the device table's identifier of the caller.
	DeviceID string `json:"device_id,omitempty"`
	// DriveSerial and WWN identify the drive (the seed's driveSSN and
	// driveWWN).
	DriveSerial string `json:"drive_serial,omitempty"`
	WWN         string `json:"wwn,omitempty"`
	// Volser is the volume serial (the seed's volSer).
	Volser string `json:"volser,omitempty"`
	// Alias1 and Alias2 are the key labels (3592, disk).
	Alias1 string `json:"alias1,omitempty"`
	Alias2 string `json:"alias2,omitempty"`
	// KeyID is the key identifier served (LTO, KMIP).
	KeyID string `json:"key_id,omitempty"`
}

// Log stores and queries key-usage records.
type Log struct {
	st    store.Store
	seal  Sealer
	log   *slog.Logger
	now   func() time.Time
	batch int // records a scan opens at a time (maxBatch)
}

// New returns a Log over a store and a barrier; a nil logger discards.
func New(ctx context.Context, st store.Store, seal Sealer, logger *slog.Logger) (*Log, error) {
	if st == nil || seal == nil {
		return nil, errors.New("usage: a store and a barrier are required")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("usage: new: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Log{st: st, seal: seal, log: logger, now: time.Now, batch: maxBatch}, nil
}

// Record stores r in a command of its own.
func (l *Log) Record(ctx context.Context, r Record) error {
	var cmd store.Command
	if err := l.Append(&cmd, r); err != nil {
		return err
	}
	if err := l.st.Apply(ctx, cmd); err != nil {
		return fmt.Errorf("usage: record: %w", err)
	}
	return nil
}

// Append adds the sealed record r and its index entries to cmd, so that a
// caller can commit a served key and its usage record together. A zero
// Time is the current time; the ID is always assigned here.
func (l *Log) Append(cmd *store.Command, r Record) error {
	if r.Time.IsZero() {
		r.Time = l.now()
	}
	r.Time = r.Time.UTC()
	if err := validate(r); err != nil {
		return err
	}
	id, err := newID(r.Time)
	if err != nil {
		return err
	}
	r.ID = id
	plain := appendRecord(nil, &r)
	defer clear(plain)
	sealed, err := l.seal.Seal(bucketRecords, []byte(id), plain)
	if err != nil {
		return fmt.Errorf("usage: seal record: %w", err)
	}
	cmd.RequireAbsent(bucketRecords, []byte(id))
	cmd.Put(bucketRecords, []byte(id), sealed)
	for _, e := range l.indexKeys(r) {
		value := []byte{}
		if covered(e.kind) {
			// A covering entry: the record again, sealed for this index
			// key, so a query by this kind reads one bucket in order.
			if value, err = l.seal.Seal(bucketIndex, e.key, plain); err != nil {
				return fmt.Errorf("usage: seal index entry: %w", err)
			}
		}
		cmd.Put(bucketIndex, e.key, value)
	}
	return nil
}

// validate checks the enumerated fields and the field sizes of r.
func validate(r Record) error {
	switch r.Protocol {
	case ProtocolDevice, ProtocolKMIP:
	default:
		return fmt.Errorf("%w: protocol %q: want %q or %q", ErrInvalid, r.Protocol, ProtocolDevice, ProtocolKMIP)
	}
	switch r.Outcome {
	case OutcomeOK, OutcomeRefused, OutcomeFailed:
	default:
		return fmt.Errorf("%w: outcome %q: want ok, refused or failed", ErrInvalid, r.Outcome)
	}
	if r.Operation == "" {
		return fmt.Errorf("%w: an operation is required", ErrInvalid)
	}
	if y := r.Time.Year(); y < 0 || y > 9999 {
		// Records are listed as JSON, whose time format has four digits.
		return fmt.Errorf("%w: time in year %d: want years 0 to 9999", ErrInvalid, y)
	}
	for name, v := range map[string]string{
		"operation": r.Operation, "reason": r.Reason, "device id": r.DeviceID, "drive serial": r.DriveSerial,
		"wwn": r.WWN, "volser": r.Volser, "alias1": r.Alias1, "alias2": r.Alias2, "key id": r.KeyID,
	} {
		if len(v) > MaxFieldBytes {
			return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, name, MaxFieldBytes)
		}
	}
	return nil
}

// newID returns a UUIDv7 whose timestamp is t (clamped at the epoch), so
// that ids sort in record-time order.
func newID(t time.Time) (string, error) {
	var u uuid.UUID
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("usage: new id: %w", err)
	}
	putMillis(&u, t)
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String(), nil
}

// putMillis writes t's Unix milliseconds into the first 48 bits of u.
func putMillis(u *uuid.UUID, t time.Time) {
	ms := max(t.UnixMilli(), 0)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ms))
	copy(u[:6], b[2:])
}

// idBound returns the smallest id string at time t: every id of a record
// at t or later sorts at or after it.
func idBound(t time.Time) []byte {
	var u uuid.UUID
	putMillis(&u, t)
	return []byte(u.String())
}

// idMillis returns the timestamp of a record id.
func idMillis(id []byte) (int64, bool) {
	u, err := uuid.ParseBytes(id)
	if err != nil {
		return 0, false
	}
	var b [8]byte
	copy(b[2:], u[:6])
	return int64(binary.BigEndian.Uint64(b[:])), true
}
