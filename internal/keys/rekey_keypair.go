package keys

import (
	"context"
	"fmt"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/store"
)

// ReKeyKeyPair creates a replacement for the asymmetric key pair whose
// private key is privID (KMIP 1.1+ Re-key Key Pair): fresh material of the
// same algorithm and length, the attributes of the old halves but their
// links (see carriedLink), common applied to both new halves and priv, pub
// to one each. Names move to the replacements; each old half is linked to
// its replacement (Replacement Object / Replaced Object) and the new
// halves are linked to each other.
// With an offset, the new Activation Date is now+offset as for ReKey.
func (m *Manager) ReKeyKeyPair(ctx context.Context, privID string, offset *time.Duration, common, priv, pub []kmip.Attribute) (*KeyPair, error) {
	for _, set := range [][]kmip.Attribute{common, priv, pub} {
		if err := checkClientAttrs(set); err != nil {
			return nil, err
		}
	}
	if err := writable(ctx); err != nil {
		return nil, err
	}
	for range maxRetries {
		curPriv, err := m.loadVisible(ctx, privID)
		if err != nil {
			return nil, err
		}
		oldPriv := curPriv.obj
		if err := m.usable(oldPriv); err != nil {
			return nil, err
		}
		if oldPriv.Type != kmip.ObjectTypePrivateKey {
			return nil, fmt.Errorf("%w: Re-key Key Pair replaces a private key and its public key", ErrInvalidField)
		}
		pubID, ok := linkOf(oldPriv, kmip.LinkTypePublicKeyLink)
		if !ok {
			return nil, fmt.Errorf("%w: the private key has no Public Key Link", ErrInvalidField)
		}
		curPub, err := m.loadVisible(ctx, pubID)
		if err != nil {
			return nil, fmt.Errorf("keys: re-key key pair: public key %q: %w", pubID, err)
		}
		if err := m.usable(curPub.obj); err != nil {
			return nil, err
		}
		kb := KeyBlockOf(oldPriv.Value)
		if kb == nil {
			return nil, fmt.Errorf("%w: the private key has no material (destroyed)", ErrWrongState)
		}
		var curve kmip.RecommendedCurve
		if v, ok := oldPriv.Attr(kmip.AttributeNameCryptographicDomainParameters); ok {
			if dp, ok := v.(kmip.CryptographicDomainParameters); ok {
				curve = dp.RecommendedCurve
			}
		}
		privVal, pubVal, _, err := generatePair(kb.CryptographicAlgorithm, kb.CryptographicLength, curve)
		if err != nil {
			return nil, err
		}
		now := m.Now()
		nextPriv, prevPriv, err := m.replacement(oldPriv, privVal, offset, mergeAttrs(common, priv), now)
		if err != nil {
			return nil, err
		}
		nextPub, prevPub, err := m.replacement(curPub.obj, pubVal, offset, mergeAttrs(common, pub), now)
		if err != nil {
			return nil, err
		}
		pairLink(nextPriv, kmip.LinkTypePublicKeyLink, nextPub.ID)
		pairLink(nextPub, kmip.LinkTypePrivateKeyLink, nextPriv.ID)
		var cmd store.Command
		for _, w := range []struct {
			prev *stored
			next *Object
		}{{curPriv, prevPriv}, {curPub, prevPub}, {nil, nextPriv}, {nil, nextPub}} {
			if err := m.write(&cmd, w.prev, w.next); err != nil {
				return nil, err
			}
		}
		err = m.apply(ctx, cmd)
		if err == store.ErrConflict {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys: re-key key pair %q: %w", privID, err)
		}
		return &KeyPair{Private: nextPriv, Public: nextPub}, nil
	}
	return nil, ErrConflict
}

// linkOf returns the target of o's first link of type lt.
func linkOf(o *Object, lt kmip.LinkType) (string, bool) {
	for _, v := range o.AttrAll(kmip.AttributeNameLink) {
		if l, ok := v.(kmip.Link); ok && l.LinkType == lt {
			return l.LinkedObjectIdentifier, true
		}
	}
	return "", false
}

// pairLink replaces the Public/Private Key Links a replacement has (from
// the request's template: none are carried over) with one of type lt to id, placed before its Replaced Object Link (the
// order the KMIP 1.1 test case TC-133 lists them in).
func pairLink(o *Object, lt kmip.LinkType, id string) {
	var rest, replaced []kmip.Attribute
	for _, a := range o.Attrs {
		l, ok := a.AttributeValue.(kmip.Link)
		switch {
		case ok && (l.LinkType == kmip.LinkTypePublicKeyLink || l.LinkType == kmip.LinkTypePrivateKeyLink):
		case ok && l.LinkType == kmip.LinkTypeReplacedObjectLink:
			replaced = append(replaced, a)
		default:
			rest = append(rest, a)
		}
	}
	rest = append(rest, kmip.Attribute{AttributeName: kmip.AttributeNameLink,
		AttributeValue: kmip.Link{LinkType: lt, LinkedObjectIdentifier: id}})
	o.Attrs = append(rest, replaced...)
}
