package barrier

import (
	"fmt"
	"time"
)

// UnwrapKeyring returns the plaintext of a stored keyring (the value at
// store.SysBucket/KeyringKey) unwrapped with mk. A backup carries it, inside
// its own encryption, so that it can be restored under another master key
// (a restore on a new machine, or from a key in an HSM). The caller wipes
// the result.
func UnwrapKeyring(mk MasterKey, wrapped []byte) ([]byte, error) {
	plain, err := mk.Unwrap(wrapped, []byte(keyringAAD))
	if err != nil {
		return nil, fmt.Errorf("barrier: unwrap keyring with the %s master key: %w", mk.Kind(), err)
	}
	if _, err := decodeKeyring(plain); err != nil {
		wipe(plain)
		return nil, fmt.Errorf("barrier: keyring corrupted: %w", err)
	}
	return plain, nil
}

// RewrapKeyring checks a keyring plaintext from UnwrapKeyring, adds a fresh
// generation that becomes the active one, and wraps the result under mk,
// ready to be stored at store.SysBucket/KeyringKey. Values sealed under the
// older generations still open; new values are sealed under a key that the
// original server never used, so the two copies never share a nonce space.
func RewrapKeyring(mk MasterKey, plain []byte, now time.Time) ([]byte, error) {
	ring, err := decodeKeyring(plain)
	if err != nil {
		return nil, fmt.Errorf("barrier: keyring corrupted: %w", err)
	}
	last := ring.gens[len(ring.gens)-1].id
	if last == ^uint32(0) {
		return nil, fmt.Errorf("barrier: keyring generation ids exhausted")
	}
	g, err := newGeneration(last+1, now, 0)
	if err != nil {
		return nil, err
	}
	next, err := assemble(ring.indexKey, g.id, append(ring.gens, g))
	if err != nil {
		return nil, fmt.Errorf("barrier: keyring: %w", err)
	}
	b := &Barrier{mk: mk}
	return b.wrap(next)
}
