package barrier

import (
	"errors"
	"io"
	"sync"
)

// MasterKeyHolder is a MasterKey whose key can be replaced while the
// server runs (online master-key rotation, RotateMasterKeyOnline). Every
// user of the master key — the barrier, the CA signer, the admin API —
// holds the same holder, so one swap moves them all. While a rotation runs,
// Unwrap also tries the previous key, so that a sealed file read between
// the keyring's re-wrap and its own still opens. Keys it ever held stay
// open until Close (a PKCS#11 key's session may serve HSM-resident labels).
type MasterKeyHolder struct {
	mu      sync.RWMutex
	cur     MasterKey
	prev    MasterKey   // the key being replaced, during a rotation
	retired []MasterKey // replaced keys, closed with the holder
}

// NewMasterKeyHolder returns a holder of mk.
func NewMasterKeyHolder(mk MasterKey) *MasterKeyHolder {
	return &MasterKeyHolder{cur: mk}
}

// Current returns the key in use.
func (h *MasterKeyHolder) Current() MasterKey {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.cur
}

// Underlying returns the key in use (for users that need its concrete
// type, such as a PKCS#11 session).
func (h *MasterKeyHolder) Underlying() MasterKey { return h.Current() }

// Wrap implements MasterKey with the current key.
func (h *MasterKeyHolder) Wrap(plaintext, aad []byte) ([]byte, error) {
	return h.Current().Wrap(plaintext, aad)
}

// Unwrap implements MasterKey with the current key, then, during a
// rotation, with the previous one.
func (h *MasterKeyHolder) Unwrap(wrapped, aad []byte) ([]byte, error) {
	h.mu.RLock()
	cur, prev := h.cur, h.prev
	h.mu.RUnlock()
	pt, err := cur.Unwrap(wrapped, aad)
	if err != nil && prev != nil && errors.Is(err, ErrTampered) {
		if p, perr := prev.Unwrap(wrapped, aad); perr == nil {
			return p, nil
		}
	}
	return pt, err
}

// Kind implements MasterKey.
func (h *MasterKeyHolder) Kind() string { return h.Current().Kind() }

// swap makes next the current key; the old one stays as the fallback of
// Unwrap until endRotation.
func (h *MasterKeyHolder) swap(next MasterKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prev, h.cur = h.cur, next
	h.retired = append(h.retired, h.prev)
}

// endRotation drops the fallback.
func (h *MasterKeyHolder) endRotation() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prev = nil
}

// Close closes the current key and every replaced one that holds sessions.
func (h *MasterKeyHolder) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for _, k := range append(h.retired, h.cur) {
		if c, ok := k.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	h.retired = nil
	return errors.Join(errs...)
}
