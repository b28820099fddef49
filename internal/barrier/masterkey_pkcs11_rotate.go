//go:build cgo

package barrier

import (
	"encoding/hex"
	"fmt"

	"github.com/ThalesGroup/crypto11"
)

// destroyKey deletes the master key from its token: after a master-key
// rotation nothing wrapped under it can be unwrapped again.
func (k *pkcs11MasterKey) destroyKey() error {
	id, err := hex.DecodeString(k.cfg.KeyID)
	if err != nil {
		return fmt.Errorf("barrier: pkcs11: key id %q is not hex", k.cfg.KeyID)
	}
	key, err := k.ctx.FindKey(id, []byte(k.cfg.KeyLabel))
	if err != nil {
		return fmt.Errorf("barrier: PKCS#11 %s: find master key %q: %w", k.cfg.where(), k.cfg.KeyLabel, err)
	}
	if key == nil {
		return nil // gone already
	}
	if err := key.Delete(); err != nil {
		return fmt.Errorf("barrier: PKCS#11 %s: delete master key %q: %w", k.cfg.where(), k.cfg.KeyLabel, err)
	}
	return nil
}

// PKCS11Session is implemented by a master key in a PKCS#11 token: it
// shares its logged-in crypto11 context with other users of the same
// token in the process (key labels whose private keys live in the token).
// crypto11 lets a second context log in to a token the process is already
// logged in to without checking its PIN, so keywarden keeps one context
// per process and hands it on through this interface.
type PKCS11Session interface {
	// PKCS11Context returns the logged-in context. It stays owned by the
	// master key: callers never close it.
	PKCS11Context() *crypto11.Context
	// PKCS11Config names the module and the token.
	PKCS11Config() PKCS11Config
}

// PKCS11Context implements PKCS11Session.
func (k *pkcs11MasterKey) PKCS11Context() *crypto11.Context { return k.ctx }

// PKCS11Config implements PKCS11Session.
func (k *pkcs11MasterKey) PKCS11Config() PKCS11Config { return k.cfg }
