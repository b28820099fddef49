package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"

	"github.com/ovh/kmip-go"
)

// RSA key sizes: 1024 is accepted only because older clients and the
// seed's labels use it.
const (
	minRSABits     = 1024
	fipsMinRSABits = 2048 // in FIPS 140-3 mode
	maxRSABits     = 4096
	DefaultRSABits = 2048
)

// KeyPair is the result of CreateKeyPair.
type KeyPair struct {
	Private, Public *Object
}

// CreateKeyPair generates an RSA (1024–4096 bits, default 2048) or ECDSA
// (P-256, P-384) key pair. common applies to both halves; priv and pub to
// one each. The halves are linked to each other.
func (m *Manager) CreateKeyPair(ctx context.Context, common, priv, pub []kmip.Attribute) (*KeyPair, error) {
	for _, set := range [][]kmip.Attribute{common, priv, pub} {
		if err := checkClientAttrs(set); err != nil {
			return nil, err
		}
	}
	privAttrs := mergeAttrs(common, priv)
	pubAttrs := mergeAttrs(common, pub)
	spec := &Object{Attrs: privAttrs}
	algV, ok := spec.Attr(kmip.AttributeNameCryptographicAlgorithm)
	if !ok {
		return nil, fmt.Errorf("%w: Cryptographic Algorithm", ErrMissingData)
	}
	alg, _ := algV.(kmip.CryptographicAlgorithm)
	bits := int32(0)
	if v, ok := spec.Attr(kmip.AttributeNameCryptographicLength); ok {
		bits, _ = v.(int32)
	}
	var curve kmip.RecommendedCurve
	if v, ok := spec.Attr(kmip.AttributeNameCryptographicDomainParameters); ok {
		curve = v.(kmip.CryptographicDomainParameters).RecommendedCurve
	}
	privVal, pubVal, bits, err := generatePair(alg, bits, curve)
	if err != nil {
		return nil, err
	}
	privAttrs = withLength(privAttrs, bits)
	pubAttrs = withLength(pubAttrs, bits)
	po, err := m.newObject(kmip.ObjectTypePrivateKey, OriginCreated, privAttrs, privVal)
	if err != nil {
		return nil, err
	}
	pu, err := m.newObject(kmip.ObjectTypePublicKey, OriginCreated, pubAttrs, pubVal)
	if err != nil {
		return nil, err
	}
	po.Attrs = append(po.Attrs, kmip.Attribute{AttributeName: kmip.AttributeNameLink,
		AttributeValue: kmip.Link{LinkType: kmip.LinkTypePublicKeyLink, LinkedObjectIdentifier: pu.ID}})
	pu.Attrs = append(pu.Attrs, kmip.Attribute{AttributeName: kmip.AttributeNameLink,
		AttributeValue: kmip.Link{LinkType: kmip.LinkTypePrivateKeyLink, LinkedObjectIdentifier: po.ID}})
	if err := m.insert(ctx, po, pu); err != nil {
		return nil, err
	}
	return &KeyPair{Private: po, Public: pu}, nil
}

// mergeAttrs returns common overridden by specific (same name replaced).
func mergeAttrs(common, specific []kmip.Attribute) []kmip.Attribute {
	out := append([]kmip.Attribute(nil), common...)
	for _, a := range specific {
		r, _ := ruleFor(a.AttributeName)
		if !r.multi {
			out = removeNamed(out, a.AttributeName)
		}
	}
	return append(out, specific...)
}

func withLength(attrs []kmip.Attribute, bits int32) []kmip.Attribute {
	attrs = removeNamed(attrs, kmip.AttributeNameCryptographicLength)
	return append(attrs, kmip.Attribute{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: bits})
}

// generatePair makes the key material; RSA halves are stored in PKCS#1,
// EC private keys as SEC 1 (ECPrivateKey) and EC public keys as X.509
// SubjectPublicKeyInfo.
func generatePair(alg kmip.CryptographicAlgorithm, bits int32, curve kmip.RecommendedCurve) (kmip.Object, kmip.Object, int32, error) {
	switch alg {
	case kmip.CryptographicAlgorithmRSA:
		if bits == 0 {
			bits = DefaultRSABits
		}
		if bits < minRSABits || bits > maxRSABits {
			return nil, nil, 0, fmt.Errorf("%w: RSA length must be %d to %d bits", ErrInvalidField, minRSABits, maxRSABits)
		}
		if bits < fipsMinRSABits && fips140.Enabled() {
			return nil, nil, 0, fmt.Errorf("%w: RSA length must be %d bits or more in FIPS mode", ErrInvalidField, fipsMinRSABits)
		}
		k, err := rsa.GenerateKey(rand.Reader, int(bits))
		if err != nil {
			return nil, nil, 0, fmt.Errorf("keys: generate RSA: %w", err)
		}
		privDER := x509.MarshalPKCS1PrivateKey(k)
		pubDER := x509.MarshalPKCS1PublicKey(&k.PublicKey)
		return &kmip.PrivateKey{KeyBlock: derBlock(kmip.KeyFormatTypePKCS_1, privDER, alg, bits)},
			&kmip.PublicKey{KeyBlock: derBlock(kmip.KeyFormatTypePKCS_1, pubDER, alg, bits)}, bits, nil
	case kmip.CryptographicAlgorithmECDSA, kmip.CryptographicAlgorithmEC:
		var c elliptic.Curve
		switch {
		case curve == kmip.RecommendedCurveP_256 || (curve == 0 && (bits == 256 || bits == 0)):
			c, bits = elliptic.P256(), 256
		case curve == kmip.RecommendedCurveP_384 || (curve == 0 && bits == 384):
			c, bits = elliptic.P384(), 384
		default:
			return nil, nil, 0, fmt.Errorf("%w: curves P-256 and P-384 are supported", ErrNotSupported)
		}
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("keys: generate EC: %w", err)
		}
		privDER, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("keys: encode EC: %w", err)
		}
		pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("keys: encode EC: %w", err)
		}
		return &kmip.PrivateKey{KeyBlock: derBlock(kmip.KeyFormatTypeECPrivateKey, privDER, alg, bits)},
			&kmip.PublicKey{KeyBlock: derBlock(kmip.KeyFormatTypeX_509, pubDER, alg, bits)}, bits, nil
	}
	return nil, nil, 0, fmt.Errorf("%w: key pair algorithm %v", ErrNotSupported, alg)
}

func derBlock(format kmip.KeyFormatType, der []byte, alg kmip.CryptographicAlgorithm, bits int32) kmip.KeyBlock {
	kb := rawKeyBlock(der, alg, bits)
	kb.KeyFormatType = format
	return kb
}
