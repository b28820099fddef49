package keys

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/keywarden/keywarden/internal/store"
	"github.com/ovh/kmip-go"
)

// ReKey creates a replacement for symmetric key id with fresh material and
// the same attributes, but the old key's links (see carriedLink). Names
// move to the replacement; the two keys are linked (Replacement Object /
// Replaced Object). With an offset, the new
// Activation Date is now+offset and the other lifecycle dates keep their
// distance to it.
func (m *Manager) ReKey(ctx context.Context, id string, offset *time.Duration, attrs []kmip.Attribute) (*Object, error) {
	if err := checkClientAttrs(attrs); err != nil {
		return nil, err
	}
	if err := writable(ctx); err != nil {
		return nil, err
	}
	for range maxRetries {
		cur, err := m.loadVisible(ctx, id)
		if err != nil {
			return nil, err
		}
		old := cur.obj
		if err := m.usable(old); err != nil {
			return nil, err
		}
		if old.Type != kmip.ObjectTypeSymmetricKey {
			return nil, fmt.Errorf("%w: Re-key replaces symmetric keys", ErrInvalidField)
		}
		kb := KeyBlockOf(old.Value)
		if kb == nil {
			return nil, fmt.Errorf("%w: the key has no material (destroyed)", ErrWrongState)
		}
		material := make([]byte, (kb.CryptographicLength+7)/8)
		if _, err := rand.Read(material); err != nil {
			return nil, fmt.Errorf("keys: random: %w", err)
		}
		now := m.Now()
		value := &kmip.SymmetricKey{KeyBlock: rawKeyBlock(material, kb.CryptographicAlgorithm, kb.CryptographicLength)}
		next, prev, err := m.replacement(old, value, offset, attrs, now)
		if err != nil {
			return nil, err
		}
		var cmd store.Command
		if err := m.write(&cmd, cur, prev); err != nil {
			return nil, err
		}
		if err := m.write(&cmd, nil, next); err != nil {
			return nil, err
		}
		err = m.apply(ctx, cmd)
		if err == store.ErrConflict {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys: re-key %q: %w", id, err)
		}
		return next, nil
	}
	return nil, ErrConflict
}

// inherited lists the attributes a replacement object takes from the one
// it replaces (Name is moved, not copied; of the links, carriedLink says
// which ones).
var inherited = map[kmip.AttributeName]bool{
	kmip.AttributeNameCryptographicAlgorithm:         true,
	kmip.AttributeNameCryptographicLength:            true,
	kmip.AttributeNameCryptographicParameters:        true,
	kmip.AttributeNameCryptographicDomainParameters:  true,
	kmip.AttributeNameCryptographicUsageMask:         true,
	kmip.AttributeNameOperationPolicyName:            true,
	kmip.AttributeNameObjectGroup:                    true,
	kmip.AttributeNameApplicationSpecificInformation: true,
	kmip.AttributeNameContactInformation:             true,
	kmip.AttributeNameAlternativeName:                true,
	kmip.AttributeNameUsageLimits:                    true,
	kmip.AttributeNameDescription:                    true,
	kmip.AttributeNameComment:                        true,
	kmip.AttributeNameSensitive:                      true,
	kmip.AttributeNameExtractable:                    true,
	kmip.AttributeNameLink:                           true,
}

// replacement builds the new object for a re-key and the updated old one.
func (m *Manager) replacement(old *Object, value kmip.Object, offset *time.Duration, attrs []kmip.Attribute, now time.Time) (next, prev *Object, err error) {
	next, err = m.newObject(old.Type, OriginCreated, replacementAttrs(old, attrs, now, offset), value)
	if err != nil {
		return nil, nil, err
	}
	next.Group, next.Owner = old.Group, old.Owner
	next.Attrs = append(next.Attrs, kmip.Attribute{AttributeName: kmip.AttributeNameLink,
		AttributeValue: kmip.Link{LinkType: kmip.LinkTypeReplacedObjectLink, LinkedObjectIdentifier: old.ID}})
	prev = old.Clone()
	prev.removeAttr(kmip.AttributeNameName)
	prev.Attrs = append(prev.Attrs, kmip.Attribute{AttributeName: kmip.AttributeNameLink,
		AttributeValue: kmip.Link{LinkType: kmip.LinkTypeReplacementObjectLink, LinkedObjectIdentifier: next.ID}})
	m.touch(prev, now)
	return next, prev, nil
}

func removeNamed(attrs []kmip.Attribute, name kmip.AttributeName) []kmip.Attribute {
	out := attrs[:0:0]
	for _, a := range attrs {
		if a.AttributeName != name {
			out = append(out, a)
		}
	}
	return out
}
