package kmip

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/keys"
)

// Sign and Signature Verify (KMIP 1.4 sections 4.31 and 4.32), per the
// CS-AC profile: RSA with PKCS#1 v1.5 or PSS padding, and ECDSA, with
// SHA-224 to SHA-512. SHA-1 is accepted to verify existing signatures and,
// outside FIPS mode, to sign with RSA-PSS (op_crypto_sign_sha1.go).

var errNoData = kerr(kmip.ResultReasonMissingData, "data or digested data missing")

// sigScheme is a resolved signature algorithm.
type sigScheme struct {
	hash crypto.Hash
	pss  bool
	// saltLen is the PSS salt length; 0 means "as long as the hash" when
	// signing and "any" when verifying.
	saltLen int
}

// schemeOf resolves the parameters: a Digital Signature Algorithm, or a
// Cryptographic Algorithm with a Padding Method and a Hashing Algorithm.
// The default hash is SHA-256.
func schemeOf(p kmip.CryptographicParameters, allowSHA1 bool) (sigScheme, error) {
	var s sigScheme
	h := p.HashingAlgorithm
	switch p.DigitalSignatureAlgorithm {
	case 0:
		s.pss = p.PaddingMethod == kmip.PaddingMethodPSS
		if p.PaddingMethod != 0 && p.PaddingMethod != kmip.PaddingMethodPSS && p.PaddingMethod != kmip.PaddingMethodPKCS1V1_5 {
			return s, errAlgorithm
		}
	case kmip.DigitalSignatureAlgorithmSHA_1WithRSAEncryption, kmip.DigitalSignatureAlgorithmECDSAWithSHA_1:
		h = kmip.HashingAlgorithmSHA_1
	case kmip.DigitalSignatureAlgorithmSHA_224WithRSAEncryption, kmip.DigitalSignatureAlgorithmECDSAWithSHA224:
		h = kmip.HashingAlgorithmSHA_224
	case kmip.DigitalSignatureAlgorithmSHA_256WithRSAEncryption, kmip.DigitalSignatureAlgorithmECDSAWithSHA256:
		h = kmip.HashingAlgorithmSHA_256
	case kmip.DigitalSignatureAlgorithmSHA_384WithRSAEncryption, kmip.DigitalSignatureAlgorithmECDSAWithSHA384:
		h = kmip.HashingAlgorithmSHA_384
	case kmip.DigitalSignatureAlgorithmSHA_512WithRSAEncryption, kmip.DigitalSignatureAlgorithmECDSAWithSHA512:
		h = kmip.HashingAlgorithmSHA_512
	case kmip.DigitalSignatureAlgorithmRSASSA_PSS:
		s.pss = true
	default:
		return s, errAlgorithm
	}
	if h == 0 {
		h = kmip.HashingAlgorithmSHA_256
	}
	var err error
	if s.hash, err = hashOf(h, allowSHA1); err != nil {
		return s, err
	}
	if p.SaltLength != nil {
		if *p.SaltLength < 0 {
			return s, errAlgorithm
		}
		s.saltLen = int(*p.SaltLength)
	}
	return s, nil
}

// digest hashes data, or checks the length of a digest the client computed.
func (s sigScheme) digest(data, digested []byte) ([]byte, error) {
	if len(digested) > 0 {
		if len(digested) != s.hash.Size() {
			return nil, errBadLength
		}
		return digested, nil
	}
	if data == nil {
		return nil, errNoData
	}
	h := s.hash.New()
	h.Write(data)
	return h.Sum(nil), nil
}

func (r *Router) sign(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.SignRequestPayload)
	o, err := r.singlePartKey(ctx, b, req.CorrelationValue, req.InitIndicator, req.UniqueIdentifier, useSign)
	if err != nil {
		return nil, err
	}
	k, ok := o.Value.(*kmip.PrivateKey)
	if !ok {
		return nil, errWrongKeyType
	}
	params := cryptoParams(req.CryptographicParameters, o)
	s, err := schemeOf(params, sha1PSSAllowed(params, o))
	if err != nil {
		return nil, err
	}
	d, err := s.digest(req.Data, req.DigestedData)
	if err != nil {
		return nil, err
	}
	priv, err := k.CryptoPrivateKey()
	if err != nil {
		return nil, errBadKey
	}
	var sig []byte
	switch key := priv.(type) {
	case *rsa.PrivateKey:
		if s.pss {
			salt := s.saltLen
			if salt == 0 {
				salt = rsa.PSSSaltLengthEqualsHash
			}
			sig, err = rsa.SignPSS(rand.Reader, key, s.hash, d, &rsa.PSSOptions{SaltLength: salt})
		} else {
			sig, err = rsa.SignPKCS1v15(nil, key, s.hash, d)
		}
	case *ecdsa.PrivateKey:
		sig, err = ecdsa.SignASN1(rand.Reader, key, d)
	default:
		return nil, errAlgorithm
	}
	if err != nil {
		return nil, errCryptoFailed
	}
	if err := r.allocate(ctx, o, len(req.Data)); err != nil {
		return nil, err
	}
	return &payloads.SignResponsePayload{UniqueIdentifier: o.ID, SignatureData: sig}, nil
}

func (r *Router) signatureVerify(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.SignatureVerifyRequestPayload)
	o, err := r.singlePartKey(ctx, b, req.CorrelationValue, req.InitIndicator, req.UniqueIdentifier, useVerify)
	if err != nil {
		return nil, err
	}
	pub, err := verifyingKey(o)
	if err != nil {
		return nil, err
	}
	s, err := schemeOf(cryptoParams(req.CryptographicParameters, o), true)
	if err != nil {
		return nil, err
	}
	d, err := s.digest(req.Data, req.DigestedData)
	if err != nil {
		return nil, err
	}
	valid := false
	switch key := pub.(type) {
	case *rsa.PublicKey:
		if s.pss {
			salt := s.saltLen
			if salt == 0 {
				salt = rsa.PSSSaltLengthAuto
			}
			valid = rsa.VerifyPSS(key, s.hash, d, req.SignatureData, &rsa.PSSOptions{SaltLength: salt}) == nil
		} else {
			valid = rsa.VerifyPKCS1v15(key, s.hash, d, req.SignatureData) == nil
		}
	case *ecdsa.PublicKey:
		valid = ecdsa.VerifyASN1(key, d, req.SignatureData)
	default:
		return nil, errAlgorithm
	}
	resp := &payloads.SignatureVerifyResponsePayload{UniqueIdentifier: o.ID, ValidityIndicator: kmip.ValidityIndicatorInvalid}
	if valid {
		resp.ValidityIndicator = kmip.ValidityIndicatorValid
	}
	return resp, nil
}

// verifyingKey returns the public key of a Public Key object.
func verifyingKey(o *keys.Object) (crypto.PublicKey, error) {
	k, ok := o.Value.(*kmip.PublicKey)
	if !ok {
		return nil, errWrongKeyType
	}
	pub, err := k.CryptoPublicKey()
	if err != nil {
		return nil, errBadKey
	}
	return pub, nil
}
