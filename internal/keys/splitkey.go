package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/crypto/splitkey"
	"github.com/keywarden/keywarden/internal/store"
)

// ErrSplitJoin: the split key parts given to Join Split Key do not
// recombine (fewer than the threshold, or not all parts of an XOR split).
// KMIP answers it Cryptographic Failure.
var ErrSplitJoin = errors.New("keys: split key parts do not recombine")

// SplitParams are the Split Key fields of a Create Split Key request.
type SplitParams struct {
	Parts, Threshold int32
	Method           kmip.SplitKeyMethod
	// PrimeFieldSize is the prime of Polynomial Sharing Prime Field.
	PrimeFieldSize *big.Int
}

// check refuses parameters no method can split with, and the methods not
// offered: Polynomial Sharing GF(2^16) (no published vector to verify the
// field representation against).
func (sp SplitParams) check() error {
	if sp.Parts < 2 || sp.Threshold < 1 || sp.Threshold > sp.Parts {
		return fmt.Errorf("%w: split key parts %d, threshold %d", ErrInvalidField, sp.Parts, sp.Threshold)
	}
	switch sp.Method {
	case kmip.SplitKeyMethodXOR:
		if sp.Threshold != sp.Parts {
			return fmt.Errorf("%w: an XOR split needs every part (threshold = parts)", ErrInvalidField)
		}
	case kmip.SplitKeyMethodPolynomialSharingGF28:
		if sp.Parts > 255 || sp.Threshold < 2 {
			return fmt.Errorf("%w: GF(2^8) sharing takes 2 <= threshold <= parts <= 255", ErrInvalidField)
		}
	case kmip.SplitKeyMethodPolynomialSharingPrimeField:
		if sp.PrimeFieldSize == nil {
			return fmt.Errorf("%w: Prime Field Size", ErrMissingData)
		}
		if sp.Parts > 1<<16 || sp.Threshold < 2 {
			return fmt.Errorf("%w: prime field sharing takes 2 <= threshold <= parts <= 65536", ErrInvalidField)
		}
	case kmip.SplitKeyMethodPolynomialSharingGF216:
		return fmt.Errorf("%w: split key method Polynomial Sharing GF(2^16)", ErrNotSupported)
	default:
		return fmt.Errorf("%w: split key method %d", ErrInvalidField, sp.Method)
	}
	return nil
}

// share splits secret by the method of sp.
func (sp SplitParams) share(secret []byte) ([]splitkey.Share, error) {
	var (
		shares []splitkey.Share
		err    error
	)
	n, k := int(sp.Parts), int(sp.Threshold)
	switch sp.Method {
	case kmip.SplitKeyMethodXOR:
		shares, err = splitkey.SplitXOR(rand.Reader, secret, n)
	case kmip.SplitKeyMethodPolynomialSharingGF28:
		shares, err = splitkey.SplitGF256(rand.Reader, secret, n, k)
	case kmip.SplitKeyMethodPolynomialSharingPrimeField:
		shares, err = splitkey.SplitPrime(rand.Reader, secret, sp.PrimeFieldSize, n, k)
	default:
		return nil, fmt.Errorf("%w: split key method %d", ErrNotSupported, sp.Method)
	}
	if errors.Is(err, splitkey.ErrParameters) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidField, err)
	}
	return shares, err
}

// splitSecret is the key a Create Split Key splits.
type splitSecret struct {
	base     *stored // nil when the server generated the key
	material []byte
	alg      kmip.CryptographicAlgorithm
	bits     int32
}

// CreateSplitKey splits the symmetric key or secret data baseID (or, when
// baseID is empty, a new symmetric key generated from the Cryptographic
// Algorithm and Length in attrs, which is not kept) into sp.Parts Split Key
// objects, returned in Key Part Identifier order. Each part takes attrs,
// the Sensitive and Extractable attributes of the base, its group and
// owner, and a Parent Link to it; the base gets a Child Link to each part. The base and every part
// are written in one store command.
func (m *Manager) CreateSplitKey(ctx context.Context, baseID string, sp SplitParams, attrs []kmip.Attribute) ([]*Object, error) {
	if err := checkClientAttrs(attrs); err != nil {
		return nil, err
	}
	if err := sp.check(); err != nil {
		return nil, err
	}
	if err := writable(ctx); err != nil {
		return nil, err
	}
	for range maxRetries {
		sec, err := m.splitSecret(ctx, baseID, attrs)
		if err != nil {
			return nil, err
		}
		parts, base, err := m.splitParts(ctx, sec, sp, attrs)
		clear(sec.material)
		if err != nil {
			return nil, err
		}
		var cmd store.Command
		if base != nil {
			if err := m.write(&cmd, sec.base, base); err != nil {
				return nil, err
			}
		}
		for _, p := range parts {
			if err := m.write(&cmd, nil, p); err != nil {
				return nil, err
			}
		}
		err = m.apply(ctx, cmd)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys: create split key: %w", err)
		}
		return parts, nil
	}
	return nil, ErrConflict
}

// splitSecret loads the key to split, or generates one.
func (m *Manager) splitSecret(ctx context.Context, baseID string, attrs []kmip.Attribute) (*splitSecret, error) {
	if baseID == "" {
		alg, bits, err := symmetricSpec(attrs)
		if err != nil {
			return nil, err
		}
		material := make([]byte, (bits+7)/8)
		if _, err := rand.Read(material); err != nil {
			return nil, fmt.Errorf("keys: random: %w", err)
		}
		return &splitSecret{material: material, alg: alg, bits: bits}, nil
	}
	cur, err := m.loadVisible(ctx, baseID)
	if err != nil {
		return nil, err
	}
	if err := m.usable(cur.obj); err != nil {
		return nil, err
	}
	if cur.obj.Type != kmip.ObjectTypeSymmetricKey && cur.obj.Type != kmip.ObjectTypeSecretData {
		return nil, fmt.Errorf("%w: Create Split Key splits symmetric keys and secret data", ErrInvalidField)
	}
	kb := KeyBlockOf(cur.obj.Value)
	if kb == nil {
		return nil, fmt.Errorf("%w: the key has no material (destroyed)", ErrWrongState)
	}
	material := rawMaterial(kb)
	if material == nil {
		return nil, fmt.Errorf("%w: only raw or opaque key material can be split", ErrNotSupported)
	}
	return &splitSecret{base: cur, material: bytes.Clone(material), alg: kb.CryptographicAlgorithm, bits: kb.CryptographicLength}, nil
}

// symmetricSpec reads and checks the algorithm and length of a key to
// generate, as Create does.
func symmetricSpec(attrs []kmip.Attribute) (kmip.CryptographicAlgorithm, int32, error) {
	tmp := &Object{Attrs: attrs}
	algV, ok := tmp.Attr(kmip.AttributeNameCryptographicAlgorithm)
	if !ok {
		return 0, 0, fmt.Errorf("%w: Cryptographic Algorithm", ErrMissingData)
	}
	lenV, ok := tmp.Attr(kmip.AttributeNameCryptographicLength)
	if !ok {
		return 0, 0, fmt.Errorf("%w: Cryptographic Length", ErrMissingData)
	}
	alg, _ := algV.(kmip.CryptographicAlgorithm)
	bits, _ := lenV.(int32)
	allowed, known := symmetricLengths[alg]
	if !known {
		return 0, 0, fmt.Errorf("%w: symmetric algorithm %v", ErrNotSupported, alg)
	}
	if !lengthAllowed(bits, allowed) {
		return 0, 0, fmt.Errorf("%w: length %d for this algorithm", ErrInvalidField, bits)
	}
	return alg, bits, nil
}

// rawMaterial returns the bytes of a Raw or Opaque key block, or nil.
func rawMaterial(kb *kmip.KeyBlock) []byte {
	if kb.KeyValue == nil || kb.KeyValue.Plain == nil || kb.KeyValue.Plain.KeyMaterial.Bytes == nil {
		return nil
	}
	if kb.KeyFormatType != kmip.KeyFormatTypeRaw && kb.KeyFormatType != kmip.KeyFormatTypeOpaque {
		return nil
	}
	return *kb.KeyValue.Plain.KeyMaterial.Bytes
}

// splitParts builds the part objects and the base with its Child Links.
func (m *Manager) splitParts(ctx context.Context, sec *splitSecret, sp SplitParams, attrs []kmip.Attribute) ([]*Object, *Object, error) {
	shares, err := sp.share(sec.material)
	if err != nil {
		return nil, nil, err
	}
	// The parts go where the key they split is, as a re-keyed key does;
	// a key the server generates for the split goes to the caller's group.
	group, owner := accessOf(ctx).Group, accessOf(ctx).Owner
	var base *Object
	partAttrs := slices.Clone(attrs)
	if sec.base != nil {
		base = sec.base.obj.Clone()
		// KMIP 1.2 §4.38: where the request's attributes and the key's
		// differ, the key's take precedence; newObject sets these two from
		// the parts' key blocks, which are the key's.
		partAttrs = removeNamed(partAttrs, kmip.AttributeNameCryptographicAlgorithm)
		partAttrs = removeNamed(partAttrs, kmip.AttributeNameCryptographicLength)
		partAttrs = inheritProtection(partAttrs, []*Object{base})
		group, owner = base.Group, base.Owner
	}
	parts := make([]*Object, 0, len(shares))
	for _, s := range shares {
		value := &kmip.SplitKey{
			SplitKeyParts: sp.Parts, KeyPartIdentifier: int32(s.X), SplitKeyThreshold: sp.Threshold,
			SplitKeyMethod: sp.Method, PrimeFieldSize: sp.PrimeFieldSize,
			KeyBlock: rawKeyBlock(s.Y, sec.alg, sec.bits),
		}
		p, err := m.newObject(kmip.ObjectTypeSplitKey, OriginCreated, partAttrs, value)
		if err != nil {
			return nil, nil, err
		}
		p.Group, p.Owner = group, owner
		if base != nil {
			p.Attrs = append(p.Attrs, linkAttr(kmip.LinkTypeParentLink, base.ID))
			base.Attrs = append(base.Attrs, linkAttr(kmip.LinkTypeChildLink, p.ID))
		}
		parts = append(parts, p)
	}
	if base != nil {
		m.touch(base, m.Now())
	}
	return parts, base, nil
}

// inheritProtection makes attrs at least as protective as the sources':
// Sensitive if any source is, not Extractable if any source is not.
func inheritProtection(attrs []kmip.Attribute, sources []*Object) []kmip.Attribute {
	tmp := &Object{Attrs: attrs}
	sens, _ := tmp.Attr(kmip.AttributeNameSensitive)
	extr, ok := tmp.Attr(kmip.AttributeNameExtractable)
	sensitive, extractable := sens == true, !ok || extr == true
	for _, s := range sources {
		if v, _ := s.Attr(kmip.AttributeNameSensitive); v == true {
			sensitive = true
		}
		if v, _ := s.Attr(kmip.AttributeNameExtractable); v == false {
			extractable = false
		}
	}
	tmp.setAttr(kmip.AttributeNameSensitive, sensitive)
	tmp.setAttr(kmip.AttributeNameExtractable, extractable)
	return tmp.Attrs
}
