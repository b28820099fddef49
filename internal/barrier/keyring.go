package barrier

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// KeyringKey is where the wrapped keyring lives, in store.SysBucket.
const KeyringKey = "keyring"

// keyringAAD binds the wrapped keyring to its purpose.
const keyringAAD = "keywarden keyring v1"

// The keyring, before wrapping:
//
//	version 1 | index key (32) | active id u32 | count u32 |
//	count × ( id u32 | created unix nanoseconds i64 | reserved u64 | key (32) )
//
// Integers are big-endian; generations are in ascending id order.
const (
	keyringVersion byte = 1
	keyringHeadLen      = 1 + keySize + 4 + 4
	generationLen       = 4 + 8 + 8 + keySize
	// maxGenerations bounds what a decoded keyring may claim.
	maxGenerations = 1 << 20
)

// generation is one keyring key. Its fields never change once it is in a
// keyring; a new reservation makes a new generation value.
type generation struct {
	id       uint32
	created  time.Time
	reserved uint64 // seals reserved by all processes so far
	key      []byte
	aead     cipher.AEAD
}

// keyring is an immutable snapshot of the keyring.
type keyring struct {
	indexKey []byte
	active   uint32
	gens     []*generation // ascending id
	byID     map[uint32]*generation
	// wrapped is the stored form this snapshot was read from or written
	// as; a later update requires it to be unchanged.
	wrapped []byte
}

// newKeyring returns a keyring with one fresh generation and nothing
// reserved.
func newKeyring(now time.Time) (*keyring, error) {
	g, err := newGeneration(1, now, 0)
	if err != nil {
		return nil, err
	}
	return assemble(randomKey(), 1, []*generation{g})
}

// newGeneration makes a generation with a fresh random key; created keeps
// only its wall-clock UTC reading, as the keyring stores it.
func newGeneration(id uint32, created time.Time, reserved uint64) (*generation, error) {
	key := randomKey()
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &generation{id: id, created: created.Round(0).UTC(), reserved: reserved, key: key, aead: aead}, nil
}

// assemble checks and indexes a keyring.
func assemble(indexKey []byte, active uint32, gens []*generation) (*keyring, error) {
	if len(gens) == 0 {
		return nil, errors.New("no generations")
	}
	byID := make(map[uint32]*generation, len(gens))
	for i, g := range gens {
		if i > 0 && g.id <= gens[i-1].id {
			return nil, errors.New("generations out of order")
		}
		byID[g.id] = g
	}
	if byID[active] == nil {
		return nil, fmt.Errorf("active generation %d missing", active)
	}
	return &keyring{indexKey: indexKey, active: active, gens: gens, byID: byID}, nil
}

// reserve returns the keyring after reserving block more seals, and the
// generation they belong to: the active one, or a new one that becomes
// active when the active generation would pass rotateAfter.
func (r *keyring) reserve(block, rotateAfter uint64, now time.Time) (*keyring, *generation, bool, error) {
	gens := make([]*generation, len(r.gens), len(r.gens)+1)
	copy(gens, r.gens)
	cur := r.byID[r.active]
	if cur.reserved <= rotateAfter && block <= rotateAfter-cur.reserved {
		g := *cur
		g.reserved += block
		for i := range gens {
			if gens[i].id == cur.id {
				gens[i] = &g
			}
		}
		next, err := assemble(r.indexKey, r.active, gens)
		return next, &g, false, err
	}
	last := r.gens[len(r.gens)-1].id
	if last == math.MaxUint32 {
		return nil, nil, false, errors.New("barrier: keyring generation ids exhausted")
	}
	g, err := newGeneration(last+1, now, block)
	if err != nil {
		return nil, nil, false, err
	}
	next, err := assemble(r.indexKey, g.id, append(gens, g))
	return next, g, true, err
}

// encode returns the keyring's plaintext form; the caller wipes it.
func (r *keyring) encode() []byte {
	out := make([]byte, 0, keyringHeadLen+len(r.gens)*generationLen)
	out = append(out, keyringVersion)
	out = append(out, r.indexKey...)
	out = binary.BigEndian.AppendUint32(out, r.active)
	out = binary.BigEndian.AppendUint32(out, uint32(len(r.gens)))
	for _, g := range r.gens {
		out = binary.BigEndian.AppendUint32(out, g.id)
		out = binary.BigEndian.AppendUint64(out, uint64(g.created.UnixNano()))
		out = binary.BigEndian.AppendUint64(out, g.reserved)
		out = append(out, g.key...)
	}
	return out
}

// decodeKeyring parses encode's output. It copies what it keeps.
func decodeKeyring(b []byte) (*keyring, error) {
	if len(b) < keyringHeadLen || b[0] != keyringVersion {
		return nil, errors.New("unknown keyring encoding")
	}
	indexKey := append([]byte(nil), b[1:1+keySize]...)
	active := binary.BigEndian.Uint32(b[1+keySize:])
	count := binary.BigEndian.Uint32(b[1+keySize+4:])
	if count > maxGenerations || uint64(len(b)) != uint64(keyringHeadLen)+uint64(count)*generationLen {
		return nil, errors.New("keyring length does not match its generation count")
	}
	gens := make([]*generation, 0, count)
	for p := b[keyringHeadLen:]; len(p) > 0; p = p[generationLen:] {
		key := append([]byte(nil), p[20:20+keySize]...)
		aead, err := newAEAD(key)
		if err != nil {
			return nil, err
		}
		gens = append(gens, &generation{
			id:       binary.BigEndian.Uint32(p[0:4]),
			created:  time.Unix(0, int64(binary.BigEndian.Uint64(p[4:12]))).UTC(),
			reserved: binary.BigEndian.Uint64(p[12:20]),
			key:      key,
			aead:     aead,
		})
	}
	return assemble(indexKey, active, gens)
}
