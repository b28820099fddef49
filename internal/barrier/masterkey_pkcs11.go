//go:build cgo

package barrier

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// pkcs11WrapVersion is the first byte of a value wrapped by a PKCS#11
// master key: version | nonce (12) | AES-256-GCM ciphertext and tag, the
// version byte authenticated with the caller's aad. The same layout as the
// file key's, with another version byte so that the two never mix.
const pkcs11WrapVersion byte = 2

// pkcs11NonceSize is the GCM nonce length: 96 bits, drawn at random.
const pkcs11NonceSize = 12

// pkcs11MaxSessions bounds the sessions a server opens on the token: the
// master key is used at startup and for sealed files, never per request.
const pkcs11MaxSessions = 4

// pkcs11MasterKey is a non-extractable AES-256 key in a PKCS#11 token;
// every Wrap and Unwrap runs AES-GCM inside the token.
type pkcs11MasterKey struct {
	ctx  *crypto11.Context
	aead cipher.AEAD
	cfg  PKCS11Config
}

// Kind implements MasterKey.
func (k *pkcs11MasterKey) Kind() string { return KindPKCS11 }

// Close ends the sessions on the token. The key stays in the token.
func (k *pkcs11MasterKey) Close() error {
	if err := k.ctx.Close(); err != nil {
		return fmt.Errorf("barrier: pkcs11: close %s: %w", k.cfg.where(), err)
	}
	return nil
}

// Wrap implements MasterKey: AES-256-GCM in the token with a random nonce.
func (k *pkcs11MasterKey) Wrap(plaintext, aad []byte) (out []byte, err error) {
	nonce := make([]byte, pkcs11NonceSize)
	_, _ = rand.Read(nonce)
	// crypto11's Seal panics when the token fails; keep that from callers.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("barrier: pkcs11: wrap in %s: %v", k.cfg.where(), r)
		}
	}()
	out = make([]byte, 0, 1+pkcs11NonceSize+len(plaintext)+16)
	out = append(out, pkcs11WrapVersion)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, pkcs11AAD(aad)), nil
}

// Unwrap implements MasterKey. A value that fails authentication in the
// token returns an error wrapping ErrTampered; a token that cannot be
// reached returns another error naming it.
func (k *pkcs11MasterKey) Unwrap(wrapped, aad []byte) ([]byte, error) {
	if len(wrapped) < 1+pkcs11NonceSize+16 || wrapped[0] != pkcs11WrapVersion {
		return nil, ErrTampered
	}
	nonce := wrapped[1 : 1+pkcs11NonceSize]
	pt, err := k.aead.Open(nil, nonce, wrapped[1+pkcs11NonceSize:], pkcs11AAD(aad))
	if err != nil {
		// crypto11 flattens the PKCS#11 error into its text. A failed tag
		// is CKR_ENCRYPTED_DATA_INVALID in the standard, CKR_GENERAL_ERROR
		// in SoftHSM2 (its OpenSSL backend reports no more); errors of the
		// device or the session stay distinct.
		for _, code := range []string{"CKR_ENCRYPTED_DATA_INVALID", "CKR_ENCRYPTED_DATA_LEN_RANGE", "CKR_GENERAL_ERROR"} {
			if strings.Contains(err.Error(), code) {
				return nil, &detailedError{
					msg: fmt.Sprintf("%v (%s in %s)", ErrTampered, code, k.cfg.where()),
					err: ErrTampered,
				}
			}
		}
		return nil, fmt.Errorf("barrier: pkcs11: unwrap in %s: %w", k.cfg.where(), err)
	}
	return pt, nil
}

func pkcs11AAD(aad []byte) []byte { return append([]byte{pkcs11WrapVersion}, aad...) }

// connectPKCS11 loads the module, finds the token and logs in, turning the
// library's errors into messages that name the token and module.
func connectPKCS11(cfg PKCS11Config, pin []byte) (*crypto11.Context, error) {
	ctx, err := crypto11.Configure(&crypto11.Config{
		Path:        cfg.Module,
		TokenLabel:  cfg.TokenLabel,
		Pin:         string(pin),
		MaxSessions: pkcs11MaxSessions,
		GCMIVLength: pkcs11NonceSize,
	})
	if err == nil {
		return ctx, nil
	}
	var p11 pkcs11.Error
	switch {
	case errors.As(err, &p11) && (p11 == pkcs11.CKR_PIN_INCORRECT || p11 == pkcs11.CKR_PIN_LEN_RANGE ||
		p11 == pkcs11.CKR_PIN_INVALID):
		return nil, &detailedError{
			msg: fmt.Sprintf("barrier: PKCS#11 %s refused the PIN (%v)", cfg.where(), p11),
			err: ErrWrongPIN,
		}
	case errors.As(err, &p11) && (p11 == pkcs11.CKR_PIN_LOCKED || p11 == pkcs11.CKR_PIN_EXPIRED):
		return nil, &detailedError{
			msg: fmt.Sprintf("barrier: PKCS#11 %s: the user PIN is locked or expired (%v): the token's security officer must reset it", cfg.where(), p11),
			err: ErrWrongPIN,
		}
	case strings.Contains(err.Error(), "could not find PKCS#11 token"):
		return nil, &detailedError{
			msg: fmt.Sprintf("barrier: PKCS#11 %s: no token with that label is present (check the label with the vendor's tool, e.g. softhsm2-util --show-slots)", cfg.where()),
			err: ErrTokenNotFound,
		}
	case strings.Contains(err.Error(), "failed to create module context"):
		return nil, fmt.Errorf("barrier: PKCS#11 %s: cannot load the module: %w", cfg.where(), err)
	default:
		return nil, fmt.Errorf("barrier: PKCS#11 %s: %w", cfg.where(), err)
	}
}

// createPKCS11MasterKey generates a non-extractable, sensitive AES-256 key
// in the token and records its descriptor at path.
func createPKCS11MasterKey(path string, cfg PKCS11Config, pin []byte) (MasterKey, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, err := connectPKCS11(cfg, pin)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	cfg.KeyID = hex.EncodeToString(id)
	if cfg.KeyLabel == "" {
		cfg.KeyLabel = "keywarden-master-" + cfg.KeyID[:8]
	}
	existing, err := ctx.FindKeys(nil, []byte(cfg.KeyLabel))
	if err == nil && len(existing) > 0 {
		_ = ctx.Close()
		return nil, fmt.Errorf("barrier: PKCS#11 %s already holds a key labelled %q: choose another key label", cfg.where(), cfg.KeyLabel)
	}
	tmpl, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(cfg.KeyLabel))
	if err == nil {
		err = tmpl.Set(crypto11.CkaPrivate, true)
	}
	if err == nil {
		err = tmpl.Set(crypto11.CkaWrap, false)
	}
	if err == nil {
		err = tmpl.Set(crypto11.CkaUnwrap, false)
	}
	if err != nil {
		_ = ctx.Close()
		return nil, fmt.Errorf("barrier: pkcs11: key template: %w", err)
	}
	// crypto11 adds CKA_TOKEN, CKA_SENSITIVE true and CKA_EXTRACTABLE false.
	key, err := ctx.GenerateSecretKeyWithAttributes(tmpl, 256, crypto11.CipherAES)
	if err != nil {
		_ = ctx.Close()
		return nil, fmt.Errorf("barrier: PKCS#11 %s: generate AES-256 master key: %w", cfg.where(), err)
	}
	mk, err := newPKCS11MasterKey(ctx, key, cfg)
	if err == nil {
		err = selfTest(mk)
	}
	var content []byte
	if err == nil {
		content, err = marshalDescriptor(cfg)
	}
	if err == nil {
		err = writeNewFile(path, content)
	}
	if err != nil {
		_ = key.Delete()
		_ = ctx.Close()
		return nil, err
	}
	return mk, nil
}

// openPKCS11MasterKey logs in to the token of d and finds its key.
func openPKCS11MasterKey(d pkcs11Descriptor, pin []byte) (MasterKey, error) {
	cfg := d.PKCS11Config
	id, err := hex.DecodeString(cfg.KeyID)
	if err != nil {
		return nil, fmt.Errorf("barrier: master key descriptor: key id %q is not hex", cfg.KeyID)
	}
	ctx, err := connectPKCS11(cfg, pin)
	if err != nil {
		return nil, err
	}
	keys, err := ctx.FindKeys(id, []byte(cfg.KeyLabel))
	if err != nil || len(keys) != 1 {
		_ = ctx.Close()
		n := len(keys)
		if err != nil {
			return nil, fmt.Errorf("barrier: PKCS#11 %s: find master key %q: %w", cfg.where(), cfg.KeyLabel, err)
		}
		return nil, &detailedError{
			msg: fmt.Sprintf("barrier: PKCS#11 %s holds %d keys labelled %q with id %s; want exactly one (was the token re-initialised or restored from another backup?)",
				cfg.where(), n, cfg.KeyLabel, cfg.KeyID),
			err: ErrMasterKeyNotFound,
		}
	}
	mk, err := newPKCS11MasterKey(ctx, keys[0], cfg)
	if err != nil {
		_ = ctx.Close()
		return nil, err
	}
	return mk, nil
}

// newPKCS11MasterKey checks that key is sensitive and has never been
// extractable, and returns the MasterKey over it.
func newPKCS11MasterKey(ctx *crypto11.Context, key *crypto11.SecretKey, cfg PKCS11Config) (*pkcs11MasterKey, error) {
	attrs, err := ctx.GetAttributes(key, []crypto11.AttributeType{
		crypto11.CkaSensitive, crypto11.CkaExtractable, crypto11.CkaNeverExtractable, crypto11.CkaToken,
	})
	if err != nil {
		return nil, fmt.Errorf("barrier: PKCS#11 %s: read master key attributes: %w", cfg.where(), err)
	}
	want := []struct {
		attr crypto11.AttributeType
		name string
		val  bool
	}{
		{crypto11.CkaToken, "CKA_TOKEN", true},
		{crypto11.CkaSensitive, "CKA_SENSITIVE", true},
		{crypto11.CkaExtractable, "CKA_EXTRACTABLE", false},
		{crypto11.CkaNeverExtractable, "CKA_NEVER_EXTRACTABLE", true},
	}
	for _, w := range want {
		a := attrs[w.attr]
		if a == nil || len(a.Value) != 1 || (a.Value[0] != 0) != w.val {
			return nil, fmt.Errorf("barrier: PKCS#11 %s: master key %q has %s not %v: refusing a key that is or was extractable",
				cfg.where(), cfg.KeyLabel, w.name, w.val)
		}
	}
	aead, err := key.NewGCM()
	if err != nil {
		return nil, fmt.Errorf("barrier: PKCS#11 %s: AES-GCM: %w", cfg.where(), err)
	}
	return &pkcs11MasterKey{ctx: ctx, aead: aead, cfg: cfg}, nil
}

// selfTest wraps and unwraps a probe, so that a token without CKM_AES_GCM
// fails at creation rather than at the first use.
func selfTest(mk MasterKey) error {
	probe := []byte("keywarden master key self-test")
	w, err := mk.Wrap(probe, []byte("self-test"))
	if err != nil {
		return err
	}
	got, err := mk.Unwrap(w, []byte("self-test"))
	if err != nil {
		return fmt.Errorf("barrier: pkcs11: self-test: %w", err)
	}
	if !bytes.Equal(got, probe) {
		return errors.New("barrier: pkcs11: self-test: unwrap returned other bytes")
	}
	if _, err := mk.Unwrap(w, []byte("other")); !errors.Is(err, ErrTampered) {
		return fmt.Errorf("barrier: pkcs11: self-test: the token did not authenticate the additional data (%v)", err)
	}
	return nil
}
