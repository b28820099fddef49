package kmip

import (
	"crypto"
	"crypto/pbkdf2"
	"hash"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// The derivation methods of Derive Key (KMIP 1.4 section 4.6), each the
// standard primitive the specification names, over the key material K of
// the base object:
//
//   - PBKDF2 (PKCS #5 v2.0, RFC 2898): PBKDF2 with HMAC over the Hashing
//     Algorithm of the Cryptographic Parameters (SHA-1 to SHA-512), K as
//     the password, the Salt and the Iteration Count, all three required.
//   - HASH: the hash of K (SHA-224 to SHA-512, as the Hash operation
//     offers), truncated to the requested length. Derivation Data is
//     refused: a hash of data alone would not depend on the base key.
//   - HMAC: HMAC over the Derivation Data with K as the key (SHA-224 to
//     SHA-512, as the MAC operation offers), truncated.
//   - ENCRYPT: the Derivation Data encrypted under K with the
//     Cryptographic Parameters and the Initialization Vector (AES in CBC,
//     ECB or CTR, as Encrypt offers them), truncated.
//
// The requested length may not exceed what the method produces (the
// hash, the MAC, the ciphertext). A parameter the method does not use is
// refused rather than ignored, so that a client never gets a key other
// than the one it asked for. The SP 800-108 methods (NIST800-108-C, -F,
// -DPI) leave the encoding of the counter and of the fixed input to the
// implementation; without an interoperable test vector for KMIP's
// encoding they are not offered (Feature Not Supported), nor are the
// KMIP 2.x methods.

// maxDerivedBits bounds the length of a derived object.
const maxDerivedBits = 4096

// maxIterations bounds the PBKDF2 Iteration Count: one request may not
// hold the server for long.
const maxIterations = 10_000_000

var (
	errDeriveMethod   = kerr(kmip.ResultReasonFeatureNotSupported, "derivation method not offered")
	errDeriveNoMethod = kerr(kmip.ResultReasonInvalidField, "derivation method missing or unknown")
	errDeriveParam    = kerr(kmip.ResultReasonInvalidField, "derivation parameter not used by this derivation method")
	errDeriveMissing  = kerr(kmip.ResultReasonInvalidField, "derivation parameter required by this derivation method missing")
	errDeriveTooLong  = kerr(kmip.ResultReasonInvalidField, "cryptographic length exceeds the output of the derivation method")
	errDeriveIters    = kerr(kmip.ResultReasonInvalidField, "iteration count out of range")
	errDeriveHash     = kerr(kmip.ResultReasonInvalidField, "hashing algorithm missing from the cryptographic parameters")
)

// deriveMaterial returns n bytes derived from secret, the key material of
// base, by method with params.
func deriveMaterial(method DerivationMethod, params DerivationParameters, base *keys.Object, secret []byte, n int) ([]byte, error) {
	switch method {
	case DerivationMethodPBKDF2:
		return derivePBKDF2(params, secret, n)
	case DerivationMethodHASH:
		return deriveHash(params, secret, n)
	case DerivationMethodHMAC:
		return deriveHMAC(params, secret, n)
	case DerivationMethodENCRYPT:
		return deriveEncrypt(params, base, n)
	case DerivationMethodNIST800_108_C, DerivationMethodNIST800_108_F, DerivationMethodNIST800_108_DPI:
		return nil, errDeriveMethod
	case 0:
		return nil, errDeriveNoMethod
	}
	if method <= 0x0A { // KMIP 2.x: Asymmetric Key, AWS Signature Version 4, HKDF
		return nil, errDeriveMethod
	}
	return nil, errDeriveNoMethod
}

// deriveHashOf returns the hash the Cryptographic Parameters name.
func deriveHashOf(params DerivationParameters, allowSHA1 bool) (crypto.Hash, error) {
	if params.CryptographicParameters == nil || params.CryptographicParameters.HashingAlgorithm == 0 {
		return 0, errDeriveHash
	}
	return hashOf(params.CryptographicParameters.HashingAlgorithm, allowSHA1)
}

// derivePBKDF2 is PBKDF2 with HMAC-SHA-1 to HMAC-SHA-512: HMAC-SHA-1
// remains approved as a PRF (NIST SP 800-131A Rev. 2), and RFC 6070's
// vectors use it.
func derivePBKDF2(params DerivationParameters, secret []byte, n int) ([]byte, error) {
	if params.InitializationVector != nil || params.DerivationData != nil {
		return nil, errDeriveParam
	}
	if len(params.Salt) == 0 || params.IterationCount == 0 {
		return nil, errDeriveMissing
	}
	if params.IterationCount < 1 || params.IterationCount > maxIterations {
		return nil, errDeriveIters
	}
	h, err := deriveHashOf(params, true)
	if err != nil {
		return nil, err
	}
	out, err := pbkdf2.Key(func() hash.Hash { return h.New() }, string(secret), params.Salt, int(params.IterationCount), n)
	if err != nil {
		// FIPS 140-3 mode refuses short passwords, salts and outputs.
		return nil, errAlgorithm
	}
	return out, nil
}

func deriveHash(params DerivationParameters, secret []byte, n int) ([]byte, error) {
	if params.InitializationVector != nil || params.DerivationData != nil || params.Salt != nil || params.IterationCount != 0 {
		return nil, errDeriveParam
	}
	h, err := deriveHashOf(params, false)
	if err != nil {
		return nil, err
	}
	if n > h.Size() {
		return nil, errDeriveTooLong
	}
	d := h.New()
	d.Write(secret)
	return d.Sum(nil)[:n], nil
}

func deriveHMAC(params DerivationParameters, secret []byte, n int) ([]byte, error) {
	if params.InitializationVector != nil || params.Salt != nil || params.IterationCount != 0 {
		return nil, errDeriveParam
	}
	if params.DerivationData == nil {
		return nil, errDeriveMissing
	}
	h, err := deriveHashOf(params, false)
	if err != nil {
		return nil, err
	}
	if n > h.Size() {
		return nil, errDeriveTooLong
	}
	m, err := newHMAC(h.New, secret)
	if err != nil {
		return nil, err
	}
	m.Write(params.DerivationData)
	return m.Sum(nil)[:n], nil
}

func deriveEncrypt(params DerivationParameters, base *keys.Object, n int) ([]byte, error) {
	if params.Salt != nil || params.IterationCount != 0 {
		return nil, errDeriveParam
	}
	if params.DerivationData == nil || params.CryptographicParameters == nil {
		return nil, errDeriveMissing
	}
	if _, isKey := base.Value.(*kmip.SymmetricKey); !isKey {
		return nil, errWrongKeyType // Secret Data is no cipher key
	}
	c, err := newBlockOp(base, *params.CryptographicParameters)
	if err != nil {
		return nil, err
	}
	if c.mode == kmip.BlockCipherModeGCM {
		// An authenticated mode's ciphertext without its tag is CTR under
		// another name; asking for it is asking for something else.
		return nil, errAlgorithm
	}
	iv := params.InitializationVector
	if c.mode == kmip.BlockCipherModeECB && iv != nil {
		return nil, errDeriveParam
	}
	if c.mode != kmip.BlockCipherModeECB && iv == nil {
		return nil, errMissingIV
	}
	out, _, err := c.seal(iv, params.DerivationData, nil)
	if err != nil {
		return nil, err
	}
	if n > len(out) {
		return nil, errDeriveTooLong
	}
	return out[:n], nil
}
