package keys

import (
	"context"
	"errors"
	"fmt"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/store"
)

// Derive stores value, key material the caller derived from the objects
// baseIDs (KMIP Derive Key, KMIP 1.4 section 4.6), as a new Symmetric Key
// or Secret Data object with the template's attributes and those the
// server sets at creation. The objects are linked as the specification
// requires: a Derivation Base Object Link on the new object for each base
// object, and a Derived Key Link added to each base object. The new object
// joins the first base object's group and owner, as a re-keyed key does.
// A symmetric key must have a length keywarden generates for its
// algorithm (as Create); Secret Data any whole number of bytes up to 4096
// bits. Everything is written in one command.
func (m *Manager) Derive(ctx context.Context, typ kmip.ObjectType, baseIDs []string, value kmip.Object, attrs []kmip.Attribute) (*Object, error) {
	if err := checkClientAttrs(attrs); err != nil {
		return nil, err
	}
	if len(baseIDs) == 0 {
		return nil, fmt.Errorf("%w: no base object", ErrMissingData)
	}
	if err := checkDerived(typ, value); err != nil {
		return nil, err
	}
	if err := writable(ctx); err != nil {
		return nil, err
	}
	attrs = withoutLink(withoutLink(attrs, kmip.LinkTypeDerivationBaseObjectLink), kmip.LinkTypeDerivedKeyLink)
	for range maxRetries {
		next, err := m.newObject(typ, OriginCreated, attrs, value)
		if err != nil {
			return nil, err
		}
		// The material comes from the base objects, not from a generator.
		next.removeAttr(kmip.AttributeNameRandomNumberGenerator)
		now := m.Now()
		var cmd store.Command
		for i, id := range baseIDs {
			cur, err := m.loadVisible(ctx, id)
			if err != nil {
				return nil, err
			}
			if err := m.usable(cur.obj); err != nil {
				return nil, err
			}
			if i == 0 {
				next.Group, next.Owner = cur.obj.Group, cur.obj.Owner
			}
			next.Attrs = append(next.Attrs, linkAttr(kmip.LinkTypeDerivationBaseObjectLink, id))
			base := cur.obj.Clone()
			base.Attrs = append(base.Attrs, linkAttr(kmip.LinkTypeDerivedKeyLink, next.ID))
			m.touch(base, now)
			if err := m.write(&cmd, cur, base); err != nil {
				return nil, err
			}
		}
		if err := m.write(&cmd, nil, next); err != nil {
			return nil, err
		}
		err = m.apply(ctx, cmd)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys: derive: %w", err)
		}
		return next, nil
	}
	return nil, ErrConflict
}

// maxSecretBits bounds derived Secret Data.
const maxSecretBits = 4096

// checkDerived refuses a derived object of another type, or of a length
// the server would not generate.
func checkDerived(typ kmip.ObjectType, value kmip.Object) error {
	if typ != kmip.ObjectTypeSymmetricKey && typ != kmip.ObjectTypeSecretData {
		return fmt.Errorf("%w: Derive Key makes symmetric keys and secret data", ErrInvalidField)
	}
	if value == nil || value.ObjectType() != typ {
		return fmt.Errorf("%w: the object does not match the Object Type", ErrInvalidField)
	}
	kb := KeyBlockOf(value)
	if kb == nil || kb.KeyValue == nil {
		return fmt.Errorf("%w: derived object has no key value", ErrInvalidField)
	}
	bits := kb.CryptographicLength
	if typ == kmip.ObjectTypeSecretData {
		if bits <= 0 || bits%8 != 0 || bits > maxSecretBits {
			return fmt.Errorf("%w: length %d for secret data", ErrInvalidField, bits)
		}
		return nil
	}
	allowed, known := symmetricLengths[kb.CryptographicAlgorithm]
	if !known {
		return fmt.Errorf("%w: symmetric algorithm %v", ErrNotSupported, kb.CryptographicAlgorithm)
	}
	if !lengthAllowed(bits, allowed) {
		return fmt.Errorf("%w: length %d for this algorithm", ErrInvalidField, bits)
	}
	return nil
}
