//go:build cgo

package labels

import (
	"errors"
	"fmt"

	"github.com/ThalesGroup/crypto11"

	"github.com/keywarden/keywarden/internal/barrier"
)

// pkcs11HSM is an HSM over the crypto11 context of the master key: one
// logged-in context per process (crypto11 lets a second context log in to
// the same token without checking its PIN, so none is opened here).
type pkcs11HSM struct {
	ctx   *crypto11.Context
	token string
}

// HSMFromMasterKey returns the HSM of a master key held in a PKCS#11 token
// (barrier.PKCS11Session), sharing its session; false for other keys.
func HSMFromMasterKey(mk barrier.MasterKey) (HSM, bool) {
	if u, ok := mk.(interface{ Underlying() barrier.MasterKey }); ok {
		mk = u.Underlying()
	}
	s, ok := mk.(barrier.PKCS11Session)
	if !ok {
		return nil, false
	}
	return &pkcs11HSM{ctx: s.PKCS11Context(), token: s.PKCS11Config().TokenLabel}, true
}

// Token implements HSM.
func (h *pkcs11HSM) Token() string { return h.token }

// GenerateRSA implements HSM: CKM_RSA_PKCS_KEY_PAIR_GEN with a private key
// that is a private, sensitive, non-extractable token object.
func (h *pkcs11HSM) GenerateRSA(id []byte, label string, bits int) (HSMKey, error) {
	pub, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err != nil {
		return nil, err
	}
	priv, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err == nil {
		err = priv.Set(crypto11.CkaPrivate, true)
	}
	if err == nil {
		err = priv.Set(crypto11.CkaSensitive, true)
	}
	if err == nil {
		err = priv.Set(crypto11.CkaExtractable, false)
	}
	if err != nil {
		return nil, err
	}
	k, err := h.ctx.GenerateRSAKeyPairWithAttributes(pub, priv, bits)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// FindRSA implements HSM.
func (h *pkcs11HSM) FindRSA(id []byte) (HSMKey, error) {
	k, err := h.ctx.FindRSAKeyPair(id, nil)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, errors.New("no key pair with that id in the token")
	}
	return k, nil
}

// CheckSensitive implements HSM: the token must report the private key
// sensitive, not extractable and never extractable.
func (h *pkcs11HSM) CheckSensitive(k HSMKey) error {
	attrs, err := h.ctx.GetAttributes(k, []crypto11.AttributeType{
		crypto11.CkaSensitive, crypto11.CkaExtractable, crypto11.CkaNeverExtractable,
	})
	if err != nil {
		return fmt.Errorf("read the private key's attributes: %w", err)
	}
	want := []struct {
		attr crypto11.AttributeType
		name string
		val  bool
	}{
		{crypto11.CkaSensitive, "CKA_SENSITIVE", true},
		{crypto11.CkaExtractable, "CKA_EXTRACTABLE", false},
		{crypto11.CkaNeverExtractable, "CKA_NEVER_EXTRACTABLE", true},
	}
	for _, w := range want {
		a := attrs[w.attr]
		if a == nil || len(a.Value) != 1 || (a.Value[0] != 0) != w.val {
			return fmt.Errorf("the token made a private key with %s not %v: refusing it", w.name, w.val)
		}
	}
	return nil
}

// Random implements HSM with C_GenerateRandom.
func (h *pkcs11HSM) Random(p []byte) error {
	r, err := h.ctx.NewRandomReader()
	if err != nil {
		return err
	}
	for n := 0; n < len(p); {
		m, err := r.Read(p[n:])
		if err != nil {
			return err
		}
		n += m
	}
	return nil
}
