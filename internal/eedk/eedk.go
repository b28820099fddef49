// Package eedk makes and opens Externally Encrypted Data Keys, the seed's
// 3592 construction: a tape's data key wrapped under a key label's RSA
// public key with RSA-OAEP, written on the tape beside the data and
// identified by the label's name (encoding L) or by a hash of its public
// key (encoding H). It also wraps a data key for the device that asked for
// it, under the public key of the device's own client certificate, so that
// no message ever carries a data key in clear.
//
// Only standard constructions: RSA-OAEP (PKCS #1 v2.2) and HPKE (RFC 9180).
package eedk

import (
	"crypto"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	_ "crypto/sha1" // OAEP with SHA-1, for labels held by HSMs that offer nothing else
)

// Encoding says how an EEDK names its key label, as the seed's DFSMS data
// class does ("Encoding for Key Label": L or H).
type Encoding byte

// Encodings.
const (
	// ByLabel names the label.
	ByLabel Encoding = 'L'
	// ByHash names the SHA-256 of the label's public key (DER
	// SubjectPublicKeyInfo), so that a partner can find its key without
	// knowing our label names.
	ByHash Encoding = 'H'
)

// DataKeySize is the size of a tape data key (AES-256).
const DataKeySize = 32

// Errors.
var (
	// ErrUnwrap: the EEDK does not open with this private key.
	ErrUnwrap = errors.New("eedk: cannot unwrap: wrong key or corrupted EEDK")
	// ErrInvalid: a parameter is out of range.
	ErrInvalid = errors.New("eedk: invalid parameter")
)

// EEDK is one wrapped copy of a data key.
type EEDK struct {
	Encoding Encoding
	// Ref is the label name (ByLabel) or the hex SHA-256 of the label's
	// public key (ByHash).
	Ref string
	// Hash is the OAEP hash (SHA-256 by default; SHA-1 for labels whose
	// HSM offers nothing else).
	Hash crypto.Hash
	// Wrapped is the RSA-OAEP ciphertext of the data key.
	Wrapped []byte
}

// KeyHash is the identifier of a public key in encoding H: the hex SHA-256
// of its DER SubjectPublicKeyInfo.
func KeyHash(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("eedk: key hash: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// ErrNotFIPS: the parameters are not approved in FIPS 140-3 mode.
var ErrNotFIPS = errors.New("eedk: not allowed in FIPS mode")

// fipsMinBits is the smallest RSA label key used in FIPS 140-3 mode.
const fipsMinBits = 2048

func checkHash(h crypto.Hash) error {
	if h != crypto.SHA256 && h != crypto.SHA1 {
		return fmt.Errorf("%w: OAEP hash must be SHA-256 or SHA-1", ErrInvalid)
	}
	if h == crypto.SHA1 && fips140.Enabled() {
		return fmt.Errorf("%w: RSA-OAEP with SHA-1 (use a label with OAEP SHA-256)", ErrNotFIPS)
	}
	return nil
}

// checkBits refuses RSA keys below 2048 bits in FIPS 140-3 mode.
func checkBits(pub crypto.PublicKey) error {
	if k, ok := pub.(*rsa.PublicKey); ok && fips140.Enabled() && k.N.BitLen() < fipsMinBits {
		return fmt.Errorf("%w: RSA key of %d bits (want %d or more)", ErrNotFIPS, k.N.BitLen(), fipsMinBits)
	}
	return nil
}

// Wrap makes an EEDK of dataKey under a label's public key.
func Wrap(pub *rsa.PublicKey, label string, enc Encoding, hash crypto.Hash, dataKey []byte) (EEDK, error) {
	if len(dataKey) != DataKeySize {
		return EEDK{}, fmt.Errorf("%w: data key must be %d bytes", ErrInvalid, DataKeySize)
	}
	if err := checkHash(hash); err != nil {
		return EEDK{}, err
	}
	if err := checkBits(pub); err != nil {
		return EEDK{}, err
	}
	e := EEDK{Encoding: enc, Hash: hash}
	switch enc {
	case ByLabel:
		if label == "" || len(label) > 64 {
			return EEDK{}, fmt.Errorf("%w: label must be 1 to 64 characters", ErrInvalid)
		}
		e.Ref = label
	case ByHash:
		h, err := KeyHash(pub)
		if err != nil {
			return EEDK{}, err
		}
		e.Ref = h
	default:
		return EEDK{}, fmt.Errorf("%w: encoding must be L or H", ErrInvalid)
	}
	ct, err := rsa.EncryptOAEP(hash.New(), rand.Reader, pub, dataKey, nil)
	if err != nil {
		return EEDK{}, fmt.Errorf("eedk: wrap: %w", err)
	}
	e.Wrapped = ct
	return e, nil
}

// Unwrap opens an EEDK with the label's private key (software, or an HSM
// behind crypto.Decrypter).
func Unwrap(priv crypto.Decrypter, e EEDK) ([]byte, error) {
	if err := checkHash(e.Hash); err != nil {
		return nil, err
	}
	if err := checkBits(priv.Public()); err != nil {
		return nil, err
	}
	dk, err := priv.Decrypt(rand.Reader, e.Wrapped, &rsa.OAEPOptions{Hash: e.Hash})
	if err != nil || len(dk) != DataKeySize {
		return nil, ErrUnwrap
	}
	return dk, nil
}
