package devices

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// Buckets of the registry. Every value is sealed by the barrier with its
// bucket and key as additional data.
const (
	bucketDevices  = "devices"      // device id → Device
	bucketGroups   = "groups"       // blind(group name) → Group
	bucketIndex    = "devidx"       // blind(family, serial), blind(fingerprint) → device id; blind(group) → join marker
	bucketPending  = "pendingcerts" // blind(fingerprint) → PendingCert
	bucketRevoked  = "revoked"      // blind(fingerprint) → RevokedCert
	bucketRejected = "rejected"     // blind(family, serial), blind(fingerprint) → rejection
)

// DefaultMaxPendingCerts bounds the pending list of unknown certificates
// when Options.MaxPendingCerts is zero.
const DefaultMaxPendingCerts = 1000

// seenInterval is how often a device's LastSeen (or a pending
// certificate's) is written at most.
const seenInterval = time.Minute

// maxRetries bounds the optimistic-concurrency retries of one change.
const maxRetries = 16

// Sealer seals and opens stored values and derives blind index keys. The
// barrier implements it.
type Sealer interface {
	Seal(bucket string, key, plaintext []byte) ([]byte, error)
	Open(bucket string, key, sealed []byte) ([]byte, error)
	IndexKey(parts ...[]byte) []byte
}

// Options configure a Registry.
type Options struct {
	Store   store.Store
	Barrier Sealer
	Logger  *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// DefaultPolicy is the unknown-device policy of the groups created at
	// start-up and of new groups that name none; PolicyPending when empty.
	DefaultPolicy Policy
	// RoleRoots, when set, is the pool a certificate must chain to for the
	// role inside it to count; a certificate that carries a role and does
	// not chain to it is refused. When nil, the caller guarantees that
	// every certificate given to Resolve was verified against the server
	// CA (the TLS listeners require and verify client certificates).
	RoleRoots *x509.CertPool
	// MaxPendingCerts bounds the pending list of unknown certificates;
	// DefaultMaxPendingCerts when zero.
	MaxPendingCerts int
}

// Registry is the device table, the device groups, the pending lists and
// the revoked certificates. It is safe for concurrent use.
type Registry struct {
	st         store.Store
	seal       Sealer
	log        *slog.Logger
	now        func() time.Time
	policy     Policy
	roots      *x509.CertPool
	maxPending int

	revMu   sync.RWMutex
	revoked map[string]struct{}

	seenMu sync.Mutex
	seenAt map[string]time.Time // device id → last LastSeen write by this process
}

// New opens the registry kept in opts.Store, loads the revoked
// certificates and creates the group "default" (family GENERIC, policy
// DefaultPolicy) if it is missing.
func New(ctx context.Context, opts Options) (*Registry, error) {
	if opts.Store == nil || opts.Barrier == nil {
		return nil, errors.New("devices: a store and a barrier are required")
	}
	r := &Registry{
		st: opts.Store, seal: opts.Barrier, log: opts.Logger, now: opts.Now,
		roots: opts.RoleRoots, maxPending: opts.MaxPendingCerts,
		revoked: map[string]struct{}{}, seenAt: map[string]time.Time{},
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.maxPending <= 0 {
		r.maxPending = DefaultMaxPendingCerts
	}
	r.policy = PolicyPending
	if opts.DefaultPolicy != "" {
		p, err := ParsePolicy(string(opts.DefaultPolicy))
		if err != nil {
			return nil, err
		}
		r.policy = p
	}
	if err := r.loadRevoked(); err != nil {
		return nil, err
	}
	if err := r.ensureDefaultGroup(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// clock is the registry's time, in UTC to the second.
func (r *Registry) clock() time.Time { return r.now().UTC().Truncate(time.Second) }

// Blind index keys: the serial numbers, fingerprints and group names they
// stand for never reach the disk in the clear.
func (r *Registry) groupKey(name string) []byte {
	return r.seal.IndexKey([]byte("devices/group"), []byte(strings.ToLower(name)))
}

func (r *Registry) joinKey(name string) []byte {
	return r.seal.IndexKey([]byte("devices/group-join"), []byte(strings.ToLower(name)))
}

func (r *Registry) serialKey(f Family, serial string) []byte {
	return r.seal.IndexKey([]byte("devices/serial"), []byte(f), []byte(strings.ToUpper(serial)))
}

func (r *Registry) fpKey(fp string) []byte {
	return r.seal.IndexKey([]byte("devices/fingerprint"), []byte(fp))
}

// put seals the JSON encoding of v and appends its write to cmd.
func (r *Registry) put(cmd *store.Command, bucket string, key []byte, v any) error {
	plain, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("devices: encode %s record: %w", bucket, err)
	}
	sealed, err := r.seal.Seal(bucket, key, plain)
	clear(plain)
	if err != nil {
		return fmt.Errorf("devices: seal %s record: %w", bucket, err)
	}
	cmd.Put(bucket, key, sealed)
	return nil
}

// open authenticates and decodes a sealed record into out.
func (r *Registry) open(bucket string, key, sealed []byte, out any) error {
	plain, err := r.seal.Open(bucket, key, sealed)
	if err != nil {
		r.log.Error("devices: stored record failed authentication", "bucket", bucket, "err", err)
		return fmt.Errorf("devices: %s record: %w", bucket, err)
	}
	err = json.Unmarshal(plain, out)
	clear(plain)
	if err != nil {
		r.log.Error("devices: stored record failed to decode", "bucket", bucket, "err", err)
		return fmt.Errorf("devices: decode %s record: %w", bucket, err)
	}
	return nil
}

// retry runs build, which reads the store and fills a command, and
// applies the command, again while another writer changed what build read.
// An empty command is not applied.
func (r *Registry) retry(ctx context.Context, what string, build func(cmd *store.Command) error) error {
	for range maxRetries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("devices: %s: %w", what, err)
		}
		var cmd store.Command
		if err := build(&cmd); err != nil {
			return err
		}
		if len(cmd.Ops) == 0 {
			return nil
		}
		err := r.st.Apply(ctx, cmd)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("devices: %s: %w", what, err)
		}
		return nil
	}
	return fmt.Errorf("devices: %s: too many concurrent changes, try again: %w", what, store.ErrConflict)
}

// view reads registry records. Each read is its own store snapshot, and
// values are opened outside any store transaction: the barrier may itself
// read or write the store (keyring reload, seal reservations), which must
// not happen inside a bbolt transaction. Writes stay consistent because
// every command carries preconditions (RequireEqual, RequireAbsent) on what
// it was built from; where the order of reads matters it is noted.
type view struct {
	r *Registry
}

// read runs fn with a view of the store.
func (r *Registry) read(fn func(v view) error) error { return fn(view{r: r}) }

// get returns a copy of bucket/key; found is false when it is missing.
func (v view) get(bucket string, key []byte) (sealed []byte, found bool, err error) {
	err = v.r.st.View(func(rd store.Reader) error {
		b, err := rd.Get(bucket, key)
		if err != nil {
			return err
		}
		sealed = bytes.Clone(b)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("devices: read %s: %w", bucket, err)
	}
	return sealed, true, nil
}

// rawAll returns copies of every key and value of bucket, in key order.
func (v view) rawAll(bucket string) (keys, values [][]byte, err error) {
	err = v.r.st.View(func(rd store.Reader) error {
		return rd.Scan(bucket, nil, nil, func(key, value []byte) (bool, error) {
			keys = append(keys, bytes.Clone(key))
			values = append(values, bytes.Clone(value))
			return true, nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("devices: list %s: %w", bucket, err)
	}
	return keys, values, nil
}

// record reads and opens bucket/key into out.
func (v view) record(bucket string, key []byte, out any) (sealed []byte, found bool, err error) {
	sealed, found, err = v.get(bucket, key)
	if err != nil || !found {
		return nil, found, err
	}
	if err := v.r.open(bucket, key, sealed, out); err != nil {
		return nil, false, err
	}
	return sealed, true, nil
}

// indexID returns the device id an index entry points to.
func (v view) indexID(key []byte) (id string, found bool, err error) {
	sealed, found, err := v.get(bucketIndex, key)
	if err != nil || !found {
		return "", found, err
	}
	plain, err := v.r.seal.Open(bucketIndex, key, sealed)
	if err != nil {
		v.r.log.Error("devices: index entry failed authentication", "err", err)
		return "", false, fmt.Errorf("devices: index entry: %w", err)
	}
	return string(plain), true, nil
}

// putIndex appends the write of an index entry pointing to id.
func (r *Registry) putIndex(cmd *store.Command, key []byte, id string) error {
	sealed, err := r.seal.Seal(bucketIndex, key, []byte(id))
	if err != nil {
		return fmt.Errorf("devices: seal index entry: %w", err)
	}
	cmd.Put(bucketIndex, key, sealed)
	return nil
}

// scan opens every record of bucket, in key order.
func scan[T any](v view, bucket string) ([]T, error) {
	keys, values, err := v.rawAll(bucket)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(keys))
	for i := range keys {
		var rec T
		if err := v.r.open(bucket, keys[i], values[i], &rec); err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// rejection remembers a device serial or certificate an administrator
// rejected, so that it is refused later without being parked again.
type rejection struct {
	Family      Family    `json:"family,omitempty"`
	Serial      string    `json:"serial,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	DeviceID    string    `json:"device_id,omitempty"`
	Rejected    time.Time `json:"rejected"`
}

// rejected reports whether an administrator rejected the serial or
// certificate behind key (a serialKey or fpKey).
func (v view) rejected(key []byte) (bool, error) {
	var rej rejection
	_, found, err := v.record(bucketRejected, key, &rej)
	return found, err
}
