package kmip

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/keys"
)

// Encrypt and Decrypt (KMIP 1.4 sections 4.29 and 4.30), per the
// Cryptographic Services Basic Cryptography (CS-BC) and Asymmetric
// Cryptography (CS-AC) profiles: AES in ECB and CBC (no padding, PKCS5 or
// ANSI X9.23, op_crypto_padding.go), CTR and GCM, and RSA with OAEP
// padding. ECB is offered because the CS-BC profile and its vectors ask
// for it, although it leaks the equality of plaintext blocks: a client
// choosing it gets what it asked for. Deliberately not offered: RSA
// PKCS#1 v1.5 encryption, disallowed for key transport by NIST SP 800-131A
// Rev. 2 after 2023 (its padding checks are Bleichenbacher's oracle); it
// answers Feature Not Supported. No OASIS vector uses PKCS#1 v1.5
// encryption.

var (
	errMissingIV   = kerr(kmip.ResultReasonInvalidMessage, "IV/counter/nonce missing")
	errBadIV       = kerr(kmip.ResultReasonInvalidField, "IV/counter/nonce has the wrong length")
	errBadLength   = kerr(kmip.ResultReasonInvalidField, "data length does not fit the cipher mode and padding")
	errBadTagLen   = kerr(kmip.ResultReasonGeneralFailure, "invalid authenticated encryption tag length")
	errMissingTag  = kerr(kmip.ResultReasonMissingData, "authenticated encryption tag missing")
	errModeMissing = kerr(kmip.ResultReasonInvalidField, "block cipher mode missing from the cryptographic parameters")
)

func (r *Router) encrypt(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.EncryptRequestPayload)
	if streamed(req.CorrelationValue, req.InitIndicator) {
		return r.encryptPart(ctx, b, req) // op_crypto_stream.go
	}
	o, err := r.singlePartKey(ctx, b, req.CorrelationValue, req.InitIndicator, req.UniqueIdentifier, useEncrypt)
	if err != nil {
		return nil, err
	}
	params := cryptoParams(req.CryptographicParameters, o)
	resp := &payloads.EncryptResponsePayload{UniqueIdentifier: o.ID}
	switch o.Value.(type) {
	case *kmip.SymmetricKey:
		c, err := newBlockOp(o, params)
		if err != nil {
			return nil, err
		}
		iv := req.IVCounterNonce
		randomIV := len(iv) == 0 && c.mode != kmip.BlockCipherModeECB
		if randomIV && (params.RandomIV == nil || !*params.RandomIV) {
			return nil, errMissingIV
		}
		if randomIV {
			resp.IVCounterNonce, resp.Data, resp.AuthenticatedEncryptionTag, err = c.sealRandom(params.IVLength, req.Data, req.AuthenticatedEncryptionAdditionalData)
		} else {
			resp.Data, resp.AuthenticatedEncryptionTag, err = c.seal(iv, req.Data, req.AuthenticatedEncryptionAdditionalData)
		}
		if err != nil {
			return nil, err
		}
	case *kmip.PublicKey:
		pub, err := rsaPublic(o)
		if err != nil {
			return nil, err
		}
		if resp.Data, err = rsaEncrypt(pub, params, req.Data); err != nil {
			return nil, err
		}
	default:
		return nil, errWrongKeyType
	}
	// The allocation is taken once the operation succeeded, so that a
	// refused request costs nothing; without it, nothing is answered.
	if err := r.allocate(ctx, o, len(req.Data)); err != nil {
		return nil, err
	}
	return resp, nil
}

func (r *Router) decrypt(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.DecryptRequestPayload)
	if streamed(req.CorrelationValue, req.InitIndicator) {
		return r.decryptPart(ctx, b, req) // op_crypto_stream.go
	}
	o, err := r.singlePartKey(ctx, b, req.CorrelationValue, req.InitIndicator, req.UniqueIdentifier, useDecrypt)
	if err != nil {
		return nil, err
	}
	params := cryptoParams(req.CryptographicParameters, o)
	resp := &payloads.DecryptResponsePayload{UniqueIdentifier: o.ID}
	switch o.Value.(type) {
	case *kmip.SymmetricKey:
		c, err := newBlockOp(o, params)
		if err != nil {
			return nil, err
		}
		if len(req.IVCounterNonce) == 0 && c.mode != kmip.BlockCipherModeECB {
			return nil, errMissingIV
		}
		if resp.Data, err = c.open(req.IVCounterNonce, req.Data, req.AuthenticatedEncryptionAdditionalData, req.AuthenticatedEncryptionTag); err != nil {
			return nil, err
		}
	case *kmip.PrivateKey:
		priv, err := rsaPrivate(o)
		if err != nil {
			return nil, err
		}
		if resp.Data, err = rsaDecrypt(priv, params, req.Data); err != nil {
			return nil, err
		}
	default:
		return nil, errWrongKeyType
	}
	return resp, nil
}

// blockOp is an AES operation in one mode.
type blockOp struct {
	block   cipher.Block
	mode    kmip.BlockCipherMode
	padding kmip.PaddingMethod
	tagLen  int32
}

func newBlockOp(o *keys.Object, p kmip.CryptographicParameters) (*blockOp, error) {
	alg := p.CryptographicAlgorithm
	if alg == 0 {
		alg = algorithmOf(o)
	}
	if alg != kmip.CryptographicAlgorithmAES {
		return nil, errAlgorithm
	}
	raw, err := symmetricMaterial(o)
	if err != nil {
		return nil, err
	}
	blk, err := aes.NewCipher(raw)
	if err != nil {
		return nil, errBadKey
	}
	c := &blockOp{block: blk, mode: p.BlockCipherMode, padding: p.PaddingMethod, tagLen: p.TagLength}
	switch c.mode {
	case kmip.BlockCipherModeCBC, kmip.BlockCipherModeECB:
		if c.padding != 0 && c.padding != kmip.PaddingMethodNone && !padded(c.padding) {
			return nil, errAlgorithm
		}
	case kmip.BlockCipherModeCTR, kmip.BlockCipherModeGCM:
		if c.padding != 0 && c.padding != kmip.PaddingMethodNone {
			return nil, errAlgorithm
		}
	case 0:
		return nil, errModeMissing
	default:
		return nil, errAlgorithm
	}
	return c, nil
}

// randomIV draws an IV of the requested length in bytes (KMIP's IV Length
// is in bits), or the mode's usual length: 12 bytes for GCM, 16 otherwise.
func (c *blockOp) randomIV(bits int32) ([]byte, error) {
	n := aes.BlockSize
	if c.mode == kmip.BlockCipherModeGCM {
		n = 12
	}
	if bits != 0 {
		if bits%8 != 0 || bits <= 0 || bits > 1024 {
			return nil, errBadIV
		}
		n = int(bits / 8)
	}
	iv := make([]byte, n)
	if _, err := rand.Read(iv); err != nil {
		return nil, errCryptoFailed
	}
	return iv, nil
}

// sealRandom encrypts under an IV the server draws. GCM with a 96-bit IV
// and a full tag uses the standard library's random-nonce GCM, the form
// FIPS 140-3 mode allows.
func (c *blockOp) sealRandom(ivBits int32, data, aad []byte) (iv, out, tag []byte, err error) {
	if c.mode == kmip.BlockCipherModeGCM && (ivBits == 0 || ivBits == 96) && (c.tagLen == 0 || c.tagLen == 16) {
		aead, err := cipher.NewGCMWithRandomNonce(c.block)
		if err != nil {
			return nil, nil, nil, errAlgorithm
		}
		sealed := aead.Seal(nil, nil, data, aad)
		const nonceLen, tagLen = 12, 16
		cut := len(sealed) - tagLen
		return sealed[:nonceLen], sealed[nonceLen:cut], sealed[cut:], nil
	}
	if iv, err = c.randomIV(ivBits); err != nil {
		return nil, nil, nil, err
	}
	out, tag, err = c.seal(iv, data, aad)
	return iv, out, tag, err
}

func (c *blockOp) seal(iv, data, aad []byte) (out, tag []byte, err error) {
	switch c.mode {
	case kmip.BlockCipherModeGCM:
		tagLen := int(c.tagLen)
		if c.tagLen == 0 {
			tagLen = 16
		}
		aead, err := gcmFor(c.block, len(iv), tagLen)
		if err != nil {
			return nil, nil, err
		}
		sealed := aead.Seal(nil, iv, data, aad)
		cut := len(sealed) - tagLen
		return sealed[:cut], sealed[cut:], nil
	case kmip.BlockCipherModeCTR:
		if len(iv) != aes.BlockSize {
			return nil, nil, errBadIV
		}
		out := make([]byte, len(data))
		cipher.NewCTR(c.block, iv).XORKeyStream(out, data)
		return out, nil, nil
	default: // CBC, ECB
		if c.mode == kmip.BlockCipherModeCBC && len(iv) != aes.BlockSize {
			return nil, nil, errBadIV
		}
		in := data
		if padded(c.padding) {
			in = append(bytes.Clone(data), padding(c.padding, len(data))...)
		} else if len(data)%aes.BlockSize != 0 {
			return nil, nil, errBadLength
		}
		out := make([]byte, len(in))
		if c.mode == kmip.BlockCipherModeECB {
			ecb(c.block.Encrypt, out, in)
		} else {
			cipher.NewCBCEncrypter(c.block, iv).CryptBlocks(out, in)
		}
		return out, nil, nil
	}
}

func (c *blockOp) open(iv, data, aad, tag []byte) ([]byte, error) {
	switch c.mode {
	case kmip.BlockCipherModeGCM:
		if len(tag) == 0 {
			return nil, errMissingTag
		}
		// The tag's own length says how long it is; a Tag Length parameter
		// only matters when encrypting.
		aead, err := gcmFor(c.block, len(iv), len(tag))
		if err != nil {
			return nil, errCryptoFailed
		}
		out, err := aead.Open(nil, iv, append(bytes.Clone(data), tag...), aad)
		if err != nil {
			return nil, errCryptoFailed
		}
		if out == nil {
			out = []byte{}
		}
		return out, nil
	case kmip.BlockCipherModeCTR:
		if len(iv) != aes.BlockSize {
			return nil, errBadIV
		}
		out := make([]byte, len(data))
		cipher.NewCTR(c.block, iv).XORKeyStream(out, data)
		return out, nil
	default: // CBC, ECB
		if c.mode == kmip.BlockCipherModeCBC && len(iv) != aes.BlockSize {
			return nil, errBadIV
		}
		if len(data)%aes.BlockSize != 0 || (padded(c.padding) && len(data) == 0) {
			return nil, errBadLength
		}
		out := make([]byte, len(data))
		if c.mode == kmip.BlockCipherModeECB {
			ecb(c.block.Decrypt, out, data)
		} else {
			cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(out, data)
		}
		if !padded(c.padding) {
			return out, nil
		}
		n, ok := paddingLen(c.padding, out)
		if !ok {
			clear(out)
			return nil, errCryptoFailed
		}
		return out[:len(out)-n], nil
	}
}

// ecb applies one block operation to each block of in (ECB mode: offered
// because clients and the CS-BC profile ask for it, though it leaks
// equal blocks; len(in) is a multiple of the block size).
func ecb(op func(dst, src []byte), out, in []byte) {
	for i := 0; i < len(in); i += aes.BlockSize {
		op(out[i:i+aes.BlockSize], in[i:i+aes.BlockSize])
	}
}

// pkcs5Len returns the padding length of a PKCS#5 padded plaintext,
// checking every byte of the last block whatever the padding length.
func pkcs5Len(p []byte) (int, bool) {
	last := p[len(p)-aes.BlockSize:]
	n := int(last[aes.BlockSize-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, aes.BlockSize)
	for i := range aes.BlockSize {
		inPad := subtle.ConstantTimeLessOrEq(aes.BlockSize-n, i)
		match := subtle.ConstantTimeByteEq(last[i], byte(n))
		good &= match | (inPad ^ 1)
	}
	return n, good == 1
}

// gcmFor returns AES-GCM for a nonce and tag size: 12-byte nonces take tags
// of 12 to 16 bytes, other nonce lengths only full 16-byte tags.
func gcmFor(b cipher.Block, nonceLen, tagLen int) (cipher.AEAD, error) {
	if tagLen < 12 || tagLen > 16 {
		return nil, errBadTagLen
	}
	if nonceLen == 0 {
		return nil, errMissingIV
	}
	if nonceLen == 12 {
		aead, err := cipher.NewGCMWithTagSize(b, tagLen)
		if err != nil {
			// In FIPS 140-3 mode, GCM takes no nonce from outside the module.
			return nil, errAlgorithm
		}
		return aead, nil
	}
	if tagLen != 16 {
		return nil, errAlgorithm
	}
	aead, err := cipher.NewGCMWithNonceSize(b, nonceLen)
	if err != nil {
		return nil, errAlgorithm
	}
	return aead, nil
}

func rsaPublic(o *keys.Object) (*rsa.PublicKey, error) {
	k, ok := o.Value.(*kmip.PublicKey)
	if !ok {
		return nil, errWrongKeyType
	}
	pub, err := k.CryptoPublicKey()
	if err != nil {
		return nil, errBadKey
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, errAlgorithm
	}
	return rk, nil
}

func rsaPrivate(o *keys.Object) (*rsa.PrivateKey, error) {
	k, ok := o.Value.(*kmip.PrivateKey)
	if !ok {
		return nil, errWrongKeyType
	}
	priv, err := k.CryptoPrivateKey()
	if err != nil {
		return nil, errBadKey
	}
	rk, ok := priv.(*rsa.PrivateKey)
	if !ok {
		return nil, errAlgorithm
	}
	return rk, nil
}

// oaepOptions maps KMIP's OAEP parameters: the hash (SHA-224 to SHA-512),
// MGF1 with its own hash, and the P Source as label.
func oaepOptions(p kmip.CryptographicParameters) (*rsa.OAEPOptions, error) {
	if p.MaskGenerator != 0 && p.MaskGenerator != kmip.MaskGeneratorMGF1 {
		return nil, errAlgorithm
	}
	h, err := hashOf(p.HashingAlgorithm, false)
	if err != nil {
		return nil, err
	}
	opts := &rsa.OAEPOptions{Hash: h, Label: p.PSource}
	if p.MaskGeneratorHashingAlgorithm != 0 {
		if opts.MGFHash, err = hashOf(p.MaskGeneratorHashingAlgorithm, false); err != nil {
			return nil, err
		}
	}
	return opts, nil
}

func rsaEncrypt(pub *rsa.PublicKey, p kmip.CryptographicParameters, data []byte) ([]byte, error) {
	switch p.PaddingMethod {
	case kmip.PaddingMethodOAEP:
		opts, err := oaepOptions(p)
		if err != nil {
			return nil, err
		}
		out, err := rsa.EncryptOAEPWithOptions(rand.Reader, pub, data, opts)
		if err != nil {
			return nil, errCryptoFailed
		}
		return out, nil
	}
	return nil, errAlgorithm
}

func rsaDecrypt(priv *rsa.PrivateKey, p kmip.CryptographicParameters, data []byte) ([]byte, error) {
	switch p.PaddingMethod {
	case kmip.PaddingMethodOAEP:
		opts, err := oaepOptions(p)
		if err != nil {
			return nil, err
		}
		out, err := priv.Decrypt(nil, data, opts)
		if err != nil {
			return nil, errCryptoFailed
		}
		return out, nil
	}
	return nil, errAlgorithm
}
