package labels

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// claimSpace is the space of label names among the keys.Manager's name
// claims.
const claimSpace = "label"

// maxClaimTries bounds how often registerClaiming reads a claim again
// after another writer changed it.
const maxClaimTries = 8

// registerClaiming registers a label's certificate and takes its name, in
// one store command whose precondition is the name's claim as read before
// the name was found free: of two writers of one name, one registers and
// the other is refused with ErrExists, as a later duplicate is. A claim
// whose name no label has any more (its certificate destroyed or renamed)
// is stale and taken over, under the same precondition.
func (s *Service) registerClaiming(ctx context.Context, name string, cert *x509.Certificate, attrs []kmip.Attribute) (*keys.Object, error) {
	for range maxClaimTries {
		// The claim is read first: the check below then sees every label
		// whose write left the claim as read.
		claims, err := s.keys.ReadClaims(claimSpace, name)
		if err != nil {
			return nil, fmt.Errorf("labels: claim %q: %w", name, err)
		}
		if err := s.checkFree(ctx, name); err != nil {
			return nil, err
		}
		o, err := s.keys.RegisterClaiming(ctx, claims, "", kmip.ObjectTypeCertificate,
			&kmip.Certificate{CertificateType: kmip.CertificateTypeX_509, CertificateValue: cert.Raw}, attrs)
		if errors.Is(err, keys.ErrClaimed) {
			continue // another writer took the name: look again
		}
		return o, err
	}
	return nil, fmt.Errorf("labels: claim %q: %w", name, keys.ErrConflict)
}
