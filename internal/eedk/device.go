package eedk

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hpke"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
)

// ForDevice wraps a key for the device whose certificate holds pub: RSA
// public keys get RSA-OAEP with SHA-256; ECDSA P-256/P-384 public keys get
// HPKE (RFC 9180, base mode: DHKEM over the same curve, HKDF-SHA256,
// AES-256-GCM). context is bound into the ciphertext (the RSA-OAEP label,
// the HPKE info): the device protocol passes codec.WrapContext (message
// type and request id); the device must give the same context to open it.
func ForDevice(pub crypto.PublicKey, key, context []byte) ([]byte, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, k, key, context)
		if err != nil {
			return nil, fmt.Errorf("eedk: wrap for device: %w", err)
		}
		return ct, nil
	case *ecdsa.PublicKey:
		epub, err := k.ECDH()
		if err != nil {
			return nil, fmt.Errorf("eedk: wrap for device: %w", err)
		}
		hpub, err := hpke.NewDHKEMPublicKey(epub)
		if err != nil {
			return nil, fmt.Errorf("eedk: wrap for device: %w", err)
		}
		return hpke.Seal(hpub, hpke.HKDFSHA256(), hpke.AES256GCM(), context, key)
	}
	return nil, fmt.Errorf("%w: device public key type %T", ErrInvalid, pub)
}

// OpenAsDevice is the device's side of ForDevice (used by the simulators).
func OpenAsDevice(priv crypto.PrivateKey, wrapped, context []byte) ([]byte, error) {
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		pt, err := rsa.DecryptOAEP(sha256.New(), nil, k, wrapped, context)
		if err != nil {
			return nil, ErrUnwrap
		}
		return pt, nil
	case *ecdsa.PrivateKey:
		epriv, err := k.ECDH()
		if err != nil {
			return nil, ErrUnwrap
		}
		hpriv, err := hpke.NewDHKEMPrivateKey(ecdh.KeyExchanger(epriv))
		if err != nil {
			return nil, ErrUnwrap
		}
		pt, err := hpke.Open(hpriv, hpke.HKDFSHA256(), hpke.AES256GCM(), context, wrapped)
		if err != nil {
			return nil, ErrUnwrap
		}
		return pt, nil
	}
	return nil, fmt.Errorf("%w: device private key type %T", ErrInvalid, priv)
}
