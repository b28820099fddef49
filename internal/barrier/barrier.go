package barrier

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// Defaults of Options.
const (
	// DefaultRotateAfter is how many seals a generation may make before a
	// new one takes over: 2^30, well below the 2^32 that random 96-bit
	// nonces allow under one key.
	DefaultRotateAfter uint64 = 1 << 30
	// DefaultReserveBlock is how many seals a process reserves with one
	// keyring update.
	DefaultReserveBlock uint64 = 1 << 20
)

// maxRotateAfter is the most seals one key may make with random nonces.
const maxRotateAfter uint64 = 1 << 32

// maxReserveAttempts bounds the optimistic retries of a keyring update.
const maxReserveAttempts = 100

// Sealed value layout: version | generation id u32 | nonce | ciphertext+tag.
const (
	sealVersion   byte = 1
	sealHeaderLen      = 1 + 4
	indexKeyLen        = 16
)

// Options configures New.
type Options struct {
	// Logger receives keyring creation and rotation. Nil discards.
	Logger *slog.Logger
	// RotateAfter is how many seals a generation makes before a new one is
	// created. Zero means DefaultRotateAfter; at most 2^32.
	RotateAfter uint64
	// ReserveBlock is how many seals one keyring update reserves. Zero
	// means DefaultReserveBlock; at most RotateAfter.
	ReserveBlock uint64
}

// GenerationInfo describes a keyring generation, without its key.
type GenerationInfo struct {
	ID       uint32
	Created  time.Time
	Reserved uint64 // seals reserved so far, by every process
	Active   bool   // new values are sealed under it
}

// Barrier seals and opens stored values. It is safe for concurrent use.
type Barrier struct {
	store       store.Store
	mk          MasterKey
	logger      *slog.Logger
	rotateAfter uint64
	block       uint64

	mu    sync.Mutex // serialises keyring updates and reloads
	ring  atomic.Pointer[keyring]
	lease atomic.Pointer[lease]

	// rotMu is held by the keyring rotation running in this process;
	// switched is when this process last made a new generation active by
	// a rotation (Unix nanoseconds).
	rotMu    sync.Mutex
	switched atomic.Int64
	// checked is when acquire last compared the stored keyring with this
	// process's copy (Unix nanoseconds).
	checked atomic.Int64
}

// keyringCheckEvery is how often a sealing process looks for a keyring
// changed by another node (a keyring rotation there makes a new generation
// active: this process must stop sealing under its reservation on the old
// one well before the rotation destroys it; see writerDrain).
const keyringCheckEvery = 250 * time.Millisecond

// lease is a block of seals this process reserved on one generation.
type lease struct {
	gen  *generation
	size uint64
	used atomic.Uint64
}

// New loads the keyring from s, unwrapping it with mk, or creates it (one
// generation) when s has none.
func New(ctx context.Context, s store.Store, mk MasterKey, opts Options) (*Barrier, error) {
	b := &Barrier{store: s, mk: mk, logger: opts.Logger, rotateAfter: opts.RotateAfter, block: opts.ReserveBlock}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	if b.rotateAfter == 0 {
		b.rotateAfter = DefaultRotateAfter
	}
	if b.block == 0 {
		b.block = min(DefaultReserveBlock, b.rotateAfter)
	}
	if b.rotateAfter > maxRotateAfter {
		return nil, fmt.Errorf("barrier: RotateAfter %d is more than the 2^32 seals one key may make", b.rotateAfter)
	}
	if b.block > b.rotateAfter {
		return nil, fmt.Errorf("barrier: ReserveBlock %d is more than RotateAfter %d", b.block, b.rotateAfter)
	}
	for range 2 {
		ring, err := b.load()
		if err == nil {
			b.ring.Store(ring)
			return b, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		ring, err = newKeyring(time.Now())
		if err != nil {
			return nil, err
		}
		wrapped, err := b.wrap(ring)
		if err != nil {
			return nil, err
		}
		var cmd store.Command
		cmd.RequireAbsent(store.SysBucket, []byte(KeyringKey))
		cmd.Put(store.SysBucket, []byte(KeyringKey), wrapped)
		err = s.Apply(ctx, cmd)
		if errors.Is(err, store.ErrConflict) {
			continue // created meanwhile by another process: load it
		}
		if err != nil {
			return nil, fmt.Errorf("barrier: create keyring: %w", err)
		}
		ring.wrapped = wrapped
		b.ring.Store(ring)
		b.logger.Info("barrier: created keyring", "master_key", mk.Kind())
		return b, nil
	}
	return nil, errors.New("barrier: keyring appeared in the store, then vanished")
}

// load reads and unwraps the keyring; store.ErrNotFound if there is none.
func (b *Barrier) load() (*keyring, error) {
	var wrapped []byte
	err := b.store.View(func(r store.Reader) error {
		v, err := r.Get(store.SysBucket, []byte(KeyringKey))
		wrapped = append([]byte(nil), v...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("barrier: read keyring: %w", err)
	}
	plain, err := b.mk.Unwrap(wrapped, []byte(keyringAAD))
	if err != nil {
		return nil, fmt.Errorf("barrier: unwrap keyring with the %s master key (wrong master key, or keyring corrupted): %w", b.mk.Kind(), err)
	}
	defer wipe(plain)
	ring, err := decodeKeyring(plain)
	if err != nil {
		return nil, fmt.Errorf("barrier: keyring corrupted: %w", err)
	}
	ring.wrapped = wrapped
	return ring, nil
}

// wrap returns the keyring's stored form.
func (b *Barrier) wrap(r *keyring) ([]byte, error) {
	plain := r.encode()
	defer wipe(plain)
	wrapped, err := b.mk.Wrap(plain, []byte(keyringAAD))
	if err != nil {
		return nil, fmt.Errorf("barrier: wrap keyring: %w", err)
	}
	return wrapped, nil
}

// acquire returns the generation to seal one value under, counting the
// seal against this process's reservation.
func (b *Barrier) acquire() (*generation, error) {
	b.checkKeyring()
	for {
		l := b.lease.Load()
		if l != nil && l.used.Add(1) <= l.size {
			return l.gen, nil
		}
		if err := b.renew(l); err != nil {
			return nil, err
		}
	}
}

// checkKeyring reloads the keyring, at most every keyringCheckEvery, when
// the stored one differs from this process's copy, and drops the lease
// when its generation is no longer the active one.
func (b *Barrier) checkKeyring() {
	now := time.Now().UnixNano()
	last := b.checked.Load()
	if now-last < int64(keyringCheckEvery) || !b.checked.CompareAndSwap(last, now) {
		return
	}
	changed := false
	_ = b.store.View(func(r store.Reader) error {
		v, err := r.Get(store.SysBucket, []byte(KeyringKey))
		changed = err == nil && !bytes.Equal(v, b.ring.Load().wrapped)
		return nil
	})
	if !changed {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	fresh, err := b.load()
	if err != nil {
		b.logger.Warn("barrier: reload keyring", "err", err)
		return
	}
	b.ring.Store(fresh)
	if l := b.lease.Load(); l != nil && l.gen.id != fresh.active {
		b.lease.Store(nil)
	}
}

// renew replaces the exhausted lease old with a new reservation, recorded
// in the store before any of its seals is used. Another goroutine may have
// renewed it already.
func (b *Barrier) renew(old *lease) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lease.Load() != old {
		return nil
	}
	for range maxReserveAttempts {
		cur := b.ring.Load()
		next, gen, rotated, err := cur.reserve(b.block, b.rotateAfter, time.Now())
		if err != nil {
			return fmt.Errorf("barrier: reserve seals: %w", err)
		}
		wrapped, err := b.wrap(next)
		if err != nil {
			return err
		}
		var cmd store.Command
		cmd.RequireEqual(store.SysBucket, []byte(KeyringKey), cur.wrapped)
		cmd.Put(store.SysBucket, []byte(KeyringKey), wrapped)
		err = b.applyKeyring(context.Background(), cmd)
		if errors.Is(err, errKeyringChanged) {
			continue // start again from the stored keyring
		}
		if err != nil {
			return fmt.Errorf("barrier: reserve seals: %w", err)
		}
		next.wrapped = wrapped
		b.ring.Store(next)
		b.lease.Store(&lease{gen: gen, size: b.block})
		if rotated {
			b.logger.Info("barrier: new keyring generation", "generation", gen.id)
		}
		return nil
	}
	return fmt.Errorf("barrier: reserve seals: keyring changed under %d attempts in a row", maxReserveAttempts)
}

// generation returns generation id, reloading the keyring once if id is
// newer than any this process knows (another node may have rotated).
func (b *Barrier) generation(id uint32) *generation {
	r := b.ring.Load()
	if g := r.byID[id]; g != nil || id <= r.gens[len(r.gens)-1].id {
		return g
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r = b.ring.Load(); r.byID[id] == nil {
		fresh, err := b.load()
		if err != nil {
			b.logger.Warn("barrier: reload keyring", "err", err)
			return nil
		}
		b.ring.Store(fresh)
		r = fresh
	}
	return r.byID[id]
}

// Seal encrypts plaintext for bucket/key under the active generation. Only
// Open with the same bucket and key returns it.
func (b *Barrier) Seal(bucket string, key, plaintext []byte) ([]byte, error) {
	g, err := b.acquire()
	if err != nil {
		return nil, err
	}
	out := make([]byte, sealHeaderLen, sealHeaderLen+gcmOverhead+len(plaintext))
	out[0] = sealVersion
	binary.BigEndian.PutUint32(out[1:], g.id)
	return g.aead.Seal(out, nil, plaintext, sealAAD(bucket, key, g.id)), nil
}

// Open authenticates and decrypts a value Seal made for bucket/key. Any
// failure is an error wrapping ErrTampered.
func (b *Barrier) Open(bucket string, key, sealed []byte) ([]byte, error) {
	if len(sealed) < sealHeaderLen+gcmOverhead || sealed[0] != sealVersion {
		return nil, tampered(bucket)
	}
	id := binary.BigEndian.Uint32(sealed[1:sealHeaderLen])
	g := b.generation(id)
	if g == nil {
		return nil, tampered(bucket)
	}
	plain, err := g.aead.Open(nil, nil, sealed[sealHeaderLen:], sealAAD(bucket, key, id))
	if err != nil {
		return nil, tampered(bucket)
	}
	return plain, nil
}

func tampered(bucket string) error {
	return fmt.Errorf("barrier: open value in bucket %q: %w", bucket, ErrTampered)
}

// sealAAD is the additional data of a sealed value: the format version,
// then bucket, key (each with a 64-bit length prefix) and generation id.
func sealAAD(bucket string, key []byte, id uint32) []byte {
	out := make([]byte, 0, 1+8+len(bucket)+8+len(key)+4)
	out = append(out, sealVersion)
	out = binary.BigEndian.AppendUint64(out, uint64(len(bucket)))
	out = append(out, bucket...)
	out = binary.BigEndian.AppendUint64(out, uint64(len(key)))
	out = append(out, key...)
	return binary.BigEndian.AppendUint32(out, id)
}

// IndexKey returns a 16-byte blind index for parts: HMAC-SHA256 under the
// keyring's index key over the parts, each with a 64-bit length prefix,
// truncated. Equal parts give equal indexes, so lookups work, while the
// attribute values never reach the disk in the clear. The index key does not
// rotate with the generations: it lives as long as the keyring, since
// changing it would orphan every stored index.
func (b *Barrier) IndexKey(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, b.ring.Load().indexKey)
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)[:indexKeyLen]
}

// Generations describes the keyring's generations, oldest first, as this
// process last read them.
func (b *Barrier) Generations() []GenerationInfo {
	r := b.ring.Load()
	out := make([]GenerationInfo, 0, len(r.gens))
	for _, g := range r.gens {
		out = append(out, GenerationInfo{ID: g.id, Created: g.created, Reserved: g.reserved, Active: g.id == r.active})
	}
	return out
}

// errKeyringChanged is what applyKeyring returns when another writer
// replaced the stored keyring first: b now holds the stored one, and the
// caller starts again from it.
var errKeyringChanged = errors.New("barrier: the keyring changed meanwhile")

// applyKeyring applies cmd, which replaces the stored keyring under a
// precondition on the one b holds. On store.ErrConflict it loads the stored
// keyring into b and returns errKeyringChanged (or the load's error).
func (b *Barrier) applyKeyring(ctx context.Context, cmd store.Command) error {
	err := b.store.Apply(ctx, cmd)
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	fresh, err := b.load()
	if err != nil {
		return err
	}
	b.ring.Store(fresh)
	return errKeyringChanged
}
