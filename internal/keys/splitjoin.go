package keys

import (
	"context"
	"errors"
	"fmt"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/crypto/splitkey"
	"github.com/keywarden/keywarden/internal/store"
)

// JoinRequest is what Join Split Key asks for.
type JoinRequest struct {
	// Type is the object to form: Symmetric Key or Secret Data.
	Type kmip.ObjectType
	// Parts are the Split Key objects to combine.
	Parts []string
	// SecretDataType is the Secret Data Type of a Secret Data result
	// (Seed when zero).
	SecretDataType kmip.SecretDataType
	// Attrs are the client's attributes for the new object.
	Attrs []kmip.Attribute
}

// JoinSplitKey combines Split Key parts the caller may use into a new
// object. Fewer parts than the threshold (for XOR, than the parts) is
// ErrSplitJoin. The new object is in the group and has the owner of the
// first part; it is Pre-Active (unless attrs activate it),
// takes the algorithm from attrs or else from the parts' key blocks, is
// Sensitive if any part is and not Extractable if any part is not, and has
// a Parent Link to each part; each part gets a Child Link to it. Everything
// is written in one store command.
func (m *Manager) JoinSplitKey(ctx context.Context, jr JoinRequest) (*Object, error) {
	if jr.Type != kmip.ObjectTypeSymmetricKey && jr.Type != kmip.ObjectTypeSecretData {
		return nil, fmt.Errorf("%w: Join Split Key forms symmetric keys or secret data", ErrNotSupported)
	}
	if len(jr.Parts) == 0 {
		return nil, fmt.Errorf("%w: split key parts", ErrMissingData)
	}
	if err := checkClientAttrs(jr.Attrs); err != nil {
		return nil, err
	}
	if err := writable(ctx); err != nil {
		return nil, err
	}
	for range maxRetries {
		curs, err := m.loadParts(ctx, jr.Parts)
		if err != nil {
			return nil, err
		}
		secret, first, err := joinShares(curs)
		if err != nil {
			return nil, err
		}
		joined, err := m.joinedObject(jr, secret, first, curs)
		if err != nil {
			return nil, err
		}
		var cmd store.Command
		if err := m.write(&cmd, nil, joined); err != nil {
			return nil, err
		}
		now := m.Now()
		for _, cur := range curs {
			next := cur.obj.Clone()
			next.Attrs = append(next.Attrs, linkAttr(kmip.LinkTypeChildLink, joined.ID))
			m.touch(next, now)
			if err := m.write(&cmd, cur, next); err != nil {
				return nil, err
			}
		}
		err = m.apply(ctx, cmd)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys: join split key: %w", err)
		}
		return joined, nil
	}
	return nil, ErrConflict
}

// loadParts loads the named Split Key objects, each once, all of one
// group and owner.
func (m *Manager) loadParts(ctx context.Context, ids []string) ([]*stored, error) {
	seen := map[string]bool{}
	out := make([]*stored, 0, len(ids))
	for _, id := range ids {
		if seen[id] {
			return nil, fmt.Errorf("%w: split key part %q named twice", ErrInvalidField, id)
		}
		seen[id] = true
		cur, err := m.loadVisible(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := m.usable(cur.obj); err != nil {
			return nil, err
		}
		if cur.obj.Type != kmip.ObjectTypeSplitKey {
			return nil, fmt.Errorf("%w: %q is not a split key", ErrInvalidField, id)
		}
		if cur.obj.Value == nil {
			return nil, fmt.Errorf("%w: split key part %q has no material (destroyed)", ErrWrongState, id)
		}
		if len(out) > 0 && (cur.obj.Group != out[0].obj.Group || cur.obj.Owner != out[0].obj.Owner) {
			// The joined key goes to the parts' group: an administrator
			// may not carry material from one group to another this way.
			return nil, fmt.Errorf("%w: the parts belong to different groups or owners", ErrInvalidField)
		}
		out = append(out, cur)
	}
	return out, nil
}

// joinShares checks that the parts belong to one split and are enough,
// and recombines them.
func joinShares(curs []*stored) ([]byte, *kmip.SplitKey, error) {
	first, _ := curs[0].obj.Value.(*kmip.SplitKey)
	shares := make([]splitkey.Share, 0, len(curs))
	for _, cur := range curs {
		sk, _ := cur.obj.Value.(*kmip.SplitKey)
		if sk == nil || !sameSplit(first, sk) {
			return nil, nil, fmt.Errorf("%w: the parts are not of one split", ErrInvalidField)
		}
		material := rawMaterial(&sk.KeyBlock)
		if material == nil {
			return nil, nil, fmt.Errorf("%w: only raw split key parts can be joined", ErrNotSupported)
		}
		shares = append(shares, splitkey.Share{X: int(sk.KeyPartIdentifier), Y: material})
	}
	need := first.SplitKeyThreshold
	if first.SplitKeyMethod == kmip.SplitKeyMethodXOR {
		need = first.SplitKeyParts
	}
	if int32(len(shares)) < need {
		return nil, nil, fmt.Errorf("%w: %d parts, %d needed", ErrSplitJoin, len(shares), need)
	}
	var (
		secret []byte
		err    error
	)
	switch first.SplitKeyMethod {
	case kmip.SplitKeyMethodXOR:
		secret, err = splitkey.JoinXOR(shares)
	case kmip.SplitKeyMethodPolynomialSharingGF28:
		secret, err = splitkey.JoinGF256(shares)
	case kmip.SplitKeyMethodPolynomialSharingPrimeField:
		size := int(first.KeyBlock.CryptographicLength+7) / 8
		if size == 0 && first.PrimeFieldSize != nil {
			size = (first.PrimeFieldSize.BitLen() - 1) / 8
		}
		secret, err = splitkey.JoinPrime(shares, first.PrimeFieldSize, size)
	default:
		return nil, nil, fmt.Errorf("%w: split key method %d", ErrNotSupported, first.SplitKeyMethod)
	}
	if errors.Is(err, splitkey.ErrShares) || errors.Is(err, splitkey.ErrParameters) {
		return nil, nil, fmt.Errorf("%w: %w", ErrSplitJoin, err)
	}
	return secret, first, err
}

// sameSplit reports whether two parts have the same split parameters.
func sameSplit(a, b *kmip.SplitKey) bool {
	if a.SplitKeyParts != b.SplitKeyParts || a.SplitKeyThreshold != b.SplitKeyThreshold || a.SplitKeyMethod != b.SplitKeyMethod {
		return false
	}
	if (a.PrimeFieldSize == nil) != (b.PrimeFieldSize == nil) {
		return false
	}
	return a.PrimeFieldSize == nil || a.PrimeFieldSize.Cmp(b.PrimeFieldSize) == 0
}

// joinedObject builds the object Join Split Key forms.
func (m *Manager) joinedObject(jr JoinRequest, secret []byte, first *kmip.SplitKey, curs []*stored) (*Object, error) {
	tmp := &Object{Attrs: jr.Attrs}
	bits := int32(len(secret) * 8)
	if v, ok := tmp.Attr(kmip.AttributeNameCryptographicLength); ok && v != bits {
		return nil, fmt.Errorf("%w: Cryptographic Length %v, the parts join to %d bits", ErrInvalidField, v, bits)
	}
	alg := first.KeyBlock.CryptographicAlgorithm
	if v, ok := tmp.Attr(kmip.AttributeNameCryptographicAlgorithm); ok {
		alg, _ = v.(kmip.CryptographicAlgorithm)
	}
	var value kmip.Object
	if jr.Type == kmip.ObjectTypeSymmetricKey {
		if alg == 0 {
			return nil, fmt.Errorf("%w: Cryptographic Algorithm", ErrMissingData)
		}
		value = &kmip.SymmetricKey{KeyBlock: rawKeyBlock(secret, alg, bits)}
	} else {
		st := jr.SecretDataType
		if st == 0 {
			st = kmip.SecretDataTypeSeed
		}
		kb := rawKeyBlock(secret, 0, 0)
		kb.KeyFormatType = kmip.KeyFormatTypeOpaque
		value = &kmip.SecretData{SecretDataType: st, KeyBlock: kb}
	}
	parts := make([]*Object, len(curs))
	for i, c := range curs {
		parts[i] = c.obj
	}
	o, err := m.newObject(jr.Type, OriginCreated, inheritProtection(jr.Attrs, parts), value)
	if err != nil {
		return nil, err
	}
	// The material is the parts', not the generator's.
	o.removeAttr(kmip.AttributeNameRandomNumberGenerator)
	// The joined key goes where its (first) part is, as a re-keyed key
	// goes where the key it replaces is.
	o.Group, o.Owner = parts[0].Group, parts[0].Owner
	for _, p := range parts {
		o.Attrs = append(o.Attrs, linkAttr(kmip.LinkTypeParentLink, p.ID))
	}
	return o, nil
}
