package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/store"
)

// Certify stores cert, a certificate the server's CA issued (KMIP Certify),
// as a new Certificate object with the client's attributes and those
// derived from the certificate (as Register derives them). When pubID names
// a public key, the two objects are linked both ways: a Public Key Link on
// the certificate and a Certificate Link on the key (replacing the key's
// earlier one). The certificate joins the key's group and owner, else
// the caller's.
// Both objects are written in one command.
func (m *Manager) Certify(ctx context.Context, pubID string, cert *kmip.Certificate, attrs []kmip.Attribute) (*Object, error) {
	if err := checkClientAttrs(attrs); err != nil {
		return nil, err
	}
	if err := checkIssued(cert); err != nil {
		return nil, err
	}
	if err := writable(ctx); err != nil {
		return nil, err
	}
	for range maxRetries {
		next, err := m.newCertificate(cert, withoutLink(attrs, kmip.LinkTypePublicKeyLink))
		if err != nil {
			return nil, err
		}
		next.Group, next.Owner = accessOf(ctx).Group, accessOf(ctx).Owner
		var cmd store.Command
		if pubID != "" {
			cur, err := m.certifiedKey(ctx, pubID)
			if err != nil {
				return nil, err
			}
			next.Group, next.Owner = cur.obj.Group, cur.obj.Owner
			next.Attrs = append(next.Attrs, linkAttr(kmip.LinkTypePublicKeyLink, pubID))
			key := cur.obj.Clone()
			setLink(key, kmip.LinkTypeCertificateLink, next.ID)
			m.touch(key, m.Now())
			if err := m.write(&cmd, cur, key); err != nil {
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
			return nil, fmt.Errorf("keys: certify: %w", err)
		}
		return next, nil
	}
	return nil, ErrConflict
}

// ReCertify stores cert as the replacement of certificate oldID (KMIP
// Re-certify): the new certificate takes the old one's attributes (of its
// links only the Public Key Link, see carriedLink) and its names, which
// leave the old one; the template applies as for Re-key (replacementAttrs). The two are linked (Replacement Object / Replaced
// Object) and the public key's Certificate Link moves to the new
// certificate. With an offset, the new Activation Date is now+offset and
// the other dates keep their distance to it, as for ReKey.
func (m *Manager) ReCertify(ctx context.Context, oldID string, cert *kmip.Certificate, offset *time.Duration, attrs []kmip.Attribute) (*Object, error) {
	if err := checkClientAttrs(attrs); err != nil {
		return nil, err
	}
	if err := checkIssued(cert); err != nil {
		return nil, err
	}
	if err := writable(ctx); err != nil {
		return nil, err
	}
	for range maxRetries {
		cur, err := m.loadVisible(ctx, oldID)
		if err != nil {
			return nil, err
		}
		old := cur.obj
		if err := m.usable(old); err != nil {
			return nil, err
		}
		if old.Type != kmip.ObjectTypeCertificate {
			return nil, fmt.Errorf("%w: Re-certify replaces a certificate", ErrInvalidField)
		}
		now := m.Now()
		next, err := m.newCertificate(cert, replacementAttrs(old, attrs, now, offset))
		if err != nil {
			return nil, err
		}
		next.Group, next.Owner = old.Group, old.Owner
		next.Attrs = append(next.Attrs, linkAttr(kmip.LinkTypeReplacedObjectLink, old.ID))
		prev := old.Clone()
		prev.removeAttr(kmip.AttributeNameName)
		prev.Attrs = append(prev.Attrs, linkAttr(kmip.LinkTypeReplacementObjectLink, next.ID))
		m.touch(prev, now)
		var cmd store.Command
		if pubID, ok := linkOf(next, kmip.LinkTypePublicKeyLink); ok {
			if err := m.moveCertificateLink(ctx, &cmd, pubID, next.ID, now); err != nil {
				return nil, err
			}
		}
		if err := m.write(&cmd, cur, prev); err != nil {
			return nil, err
		}
		if err := m.write(&cmd, nil, next); err != nil {
			return nil, err
		}
		err = m.apply(ctx, cmd)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys: re-certify %q: %w", oldID, err)
		}
		return next, nil
	}
	return nil, ErrConflict
}

// newCertificate builds a Certificate object for an issued certificate:
// what newObject sets for a generated object (but a Random Number
// Generator: the certificate is not key material), then the certificate
// attributes Register derives.
func (m *Manager) newCertificate(cert *kmip.Certificate, attrs []kmip.Attribute) (*Object, error) {
	o, err := m.newObject(kmip.ObjectTypeCertificate, OriginCreated, attrs, cert)
	if err != nil {
		return nil, err
	}
	o.removeAttr(kmip.AttributeNameRandomNumberGenerator)
	o.setAttr(kmip.AttributeNameCertificateType, cert.CertificateType)
	o.setAttr(kmip.AttributeNameCertificateLength, int32(len(cert.CertificateValue)))
	setCertificateAttrs(o, cert)
	return o, nil
}

// certifiedKey loads the public key a certificate is issued for.
func (m *Manager) certifiedKey(ctx context.Context, id string) (*stored, error) {
	cur, err := m.loadVisible(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := m.usable(cur.obj); err != nil {
		return nil, err
	}
	if cur.obj.Type != kmip.ObjectTypePublicKey {
		return nil, fmt.Errorf("%w: Certify certifies a public key", ErrInvalidField)
	}
	return cur, nil
}

// moveCertificateLink adds to cmd the public key pubID with its
// Certificate Link pointing to certID. A public key that is gone (or out
// of the caller's sight) keeps nothing to update.
func (m *Manager) moveCertificateLink(ctx context.Context, cmd *store.Command, pubID, certID string, now time.Time) error {
	cur, err := m.loadVisible(ctx, pubID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	key := cur.obj.Clone()
	setLink(key, kmip.LinkTypeCertificateLink, certID)
	m.touch(key, now)
	return m.write(cmd, cur, key)
}

// checkIssued refuses a certificate without a value.
func checkIssued(cert *kmip.Certificate) error {
	if cert == nil || len(cert.CertificateValue) == 0 {
		return fmt.Errorf("%w: no certificate", ErrInvalidField)
	}
	return nil
}

func linkAttr(lt kmip.LinkType, id string) kmip.Attribute {
	return kmip.Attribute{AttributeName: kmip.AttributeNameLink, AttributeValue: kmip.Link{LinkType: lt, LinkedObjectIdentifier: id}}
}

// setLink points o's first link of type lt at id, keeping its place (and
// so its Attribute Index), or adds one; other links of that type go.
func setLink(o *Object, lt kmip.LinkType, id string) {
	out := o.Attrs[:0:0]
	done := false
	for _, a := range o.Attrs {
		if l, ok := a.AttributeValue.(kmip.Link); ok && l.LinkType == lt {
			if done {
				continue
			}
			a.AttributeValue, done = kmip.Link{LinkType: lt, LinkedObjectIdentifier: id}, true
		}
		out = append(out, a)
	}
	if !done {
		out = append(out, linkAttr(lt, id))
	}
	o.Attrs = out
}

// withoutLink drops the links of type lt from attrs: the server sets them.
func withoutLink(attrs []kmip.Attribute, lt kmip.LinkType) []kmip.Attribute {
	out := attrs[:0:0]
	for _, a := range attrs {
		if l, ok := a.AttributeValue.(kmip.Link); ok && l.LinkType == lt {
			continue
		}
		out = append(out, a)
	}
	return out
}
