package dsakey

import (
	"encoding/asn1"
	"math/big"
)

// oidDSA is id-dsa (RFC 3279 section 2.3.2).
var oidDSA = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}

// dssParms is Dss-Parms (RFC 3279 section 2.3.2).
type dssParms struct {
	P, Q, G *big.Int
}

// algorithmIdentifier is an AlgorithmIdentifier whose parameters are kept
// raw, to be checked before they are read.
type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

// subjectPublicKeyInfo is X.509's SubjectPublicKeyInfo (RFC 5280).
type subjectPublicKeyInfo struct {
	Algorithm algorithmIdentifier
	PublicKey asn1.BitString
}

// privateKeyInfo is PKCS#8's PrivateKeyInfo (RFC 5958 OneAsymmetricKey,
// version 0 or 1; the optional attributes and public key are read and
// ignored).
type privateKeyInfo struct {
	Version    int
	Algorithm  algorithmIdentifier
	PrivateKey []byte
	Attributes asn1.RawValue `asn1:"optional,tag:0"`
	PublicKey  asn1.RawValue `asn1:"optional,tag:1"`
}

// algorithm is the AlgorithmIdentifier of p.
func (p Params) algorithm() (algorithmIdentifier, error) {
	der, err := asn1.Marshal(dssParms{P: p.P, Q: p.Q, G: p.G})
	if err != nil {
		return algorithmIdentifier{}, invalid("parameters cannot be encoded")
	}
	return algorithmIdentifier{Algorithm: oidDSA, Parameters: asn1.RawValue{FullBytes: der}}, nil
}

// MarshalPKIX returns the DER X.509 SubjectPublicKeyInfo of a valid key.
func (k *PublicKey) MarshalPKIX() ([]byte, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	alg, err := k.algorithm()
	if err != nil {
		return nil, err
	}
	y, err := asn1.Marshal(k.Y)
	if err != nil {
		return nil, invalid("Y cannot be encoded")
	}
	der, err := asn1.Marshal(subjectPublicKeyInfo{Algorithm: alg, PublicKey: asn1.BitString{Bytes: y, BitLength: 8 * len(y)}})
	if err != nil {
		return nil, invalid("key cannot be encoded")
	}
	return der, nil
}

// MarshalPKCS8 returns the DER PKCS#8 PrivateKeyInfo of a valid key.
func (k *PrivateKey) MarshalPKCS8() ([]byte, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	alg, err := k.algorithm()
	if err != nil {
		return nil, err
	}
	x, err := asn1.Marshal(k.X)
	if err != nil {
		return nil, invalid("X cannot be encoded")
	}
	der, err := asn1.Marshal(privateKeyInfo{Algorithm: alg, PrivateKey: x})
	clear(x)
	if err != nil {
		return nil, invalid("key cannot be encoded")
	}
	return der, nil
}

// ParsePKIX reads and validates a DER X.509 SubjectPublicKeyInfo holding a
// DSA key with explicit parameters.
func ParsePKIX(der []byte) (*PublicKey, error) {
	var spki subjectPublicKeyInfo
	if rest, err := asn1.Unmarshal(der, &spki); err != nil || len(rest) != 0 {
		return nil, invalid("not a DER SubjectPublicKeyInfo")
	}
	p, err := parseAlgorithm(spki.Algorithm)
	if err != nil {
		return nil, err
	}
	if spki.PublicKey.BitLength%8 != 0 {
		return nil, invalid("public key bit string is not whole bytes")
	}
	k := &PublicKey{Params: p, Y: new(big.Int)}
	if rest, err := asn1.Unmarshal(spki.PublicKey.Bytes, &k.Y); err != nil || len(rest) != 0 {
		return nil, invalid("Y is not a DER INTEGER")
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// ParsePKCS8 reads and validates a DER PKCS#8 PrivateKeyInfo holding a DSA
// key with explicit parameters.
func ParsePKCS8(der []byte) (*PrivateKey, error) {
	var pki privateKeyInfo
	if rest, err := asn1.Unmarshal(der, &pki); err != nil || len(rest) != 0 {
		return nil, invalid("not a DER PrivateKeyInfo")
	}
	if pki.Version != 0 && pki.Version != 1 {
		return nil, invalid("unknown PrivateKeyInfo version")
	}
	p, err := parseAlgorithm(pki.Algorithm)
	if err != nil {
		return nil, err
	}
	k := &PrivateKey{Params: p, X: new(big.Int)}
	if rest, err := asn1.Unmarshal(pki.PrivateKey, &k.X); err != nil || len(rest) != 0 {
		return nil, invalid("X is not a DER INTEGER")
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// parseAlgorithm reads id-dsa with explicit Dss-Parms.
func parseAlgorithm(alg algorithmIdentifier) (Params, error) {
	if !alg.Algorithm.Equal(oidDSA) {
		return Params{}, invalid("not a DSA key")
	}
	if len(alg.Parameters.FullBytes) == 0 {
		return Params{}, invalid("DSA parameters are absent")
	}
	var dp dssParms
	if rest, err := asn1.Unmarshal(alg.Parameters.FullBytes, &dp); err != nil || len(rest) != 0 {
		return Params{}, invalid("DSA parameters are not DER Dss-Parms")
	}
	return Params(dp), nil
}
