package keys

import (
	"context"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
)

// link is a shorthand for a Link value in the tests below.
func link(lt kmip.LinkType, id string) kmip.Link {
	return kmip.Link{LinkType: lt, LinkedObjectIdentifier: id}
}

// reloaded reads o again from the store.
func reloaded(t *testing.T, ctx context.Context, m *Manager, id string) *Object {
	t.Helper()
	o, err := m.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestReKeyDropsTheOldKeysRelations re-keys a split key, a derived key and
// a derivation base: the replacement's only link is its Replaced Object
// Link, and the objects related to the old key still point to the old key.
func TestReKeyDropsTheOldKeysRelations(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	t.Run("split key", func(t *testing.T) {
		base, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("split"))
		if err != nil {
			t.Fatal(err)
		}
		parts, err := m.CreateSplitKey(ctx, base.ID, SplitParams{Parts: 2, Threshold: 2, Method: kmip.SplitKeyMethodXOR}, nil)
		if err != nil {
			t.Fatal(err)
		}
		next, err := m.ReKey(ctx, base.ID, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := links(next), []kmip.Link{link(kmip.LinkTypeReplacedObjectLink, base.ID)}; !slices.Equal(got, want) {
			t.Fatalf("new key links %v, want %v", got, want)
		}
		old := reloaded(t, ctx, m, base.ID)
		for _, p := range parts {
			if !hasLink(old, kmip.LinkTypeChildLink, p.ID) {
				t.Errorf("old key lost its Child Link to %s: %v", p.ID, links(old))
			}
			if got, want := links(reloaded(t, ctx, m, p.ID)), []kmip.Link{link(kmip.LinkTypeParentLink, base.ID)}; !slices.Equal(got, want) {
				t.Errorf("part %s links %v, want %v", p.ID, got, want)
			}
		}
		if !hasLink(old, kmip.LinkTypeReplacementObjectLink, next.ID) {
			t.Errorf("old key links %v: no Replacement Object Link", links(old))
		}
	})
	t.Run("derived key and its base", func(t *testing.T) {
		base, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("base"))
		if err != nil {
			t.Fatal(err)
		}
		value := &kmip.SymmetricKey{KeyBlock: rawKeyBlock(make([]byte, 32), kmip.CryptographicAlgorithmAES, 256)}
		derived, err := m.Derive(ctx, kmip.ObjectTypeSymmetricKey, []string{base.ID}, value, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{derived.ID, base.ID} {
			next, err := m.ReKey(ctx, id, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := links(next), []kmip.Link{link(kmip.LinkTypeReplacedObjectLink, id)}; !slices.Equal(got, want) {
				t.Errorf("replacement of %s links %v, want %v", id, got, want)
			}
		}
		if !hasLink(reloaded(t, ctx, m, derived.ID), kmip.LinkTypeDerivationBaseObjectLink, base.ID) ||
			!hasLink(reloaded(t, ctx, m, base.ID), kmip.LinkTypeDerivedKeyLink, derived.ID) {
			t.Errorf("the old keys lost their derivation links")
		}
	})
	t.Run("a link the request gives is set", func(t *testing.T) {
		o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("given"))
		if err != nil {
			t.Fatal(err)
		}
		parent := link(kmip.LinkTypeParentLink, o.ID)
		next, err := m.ReKey(ctx, o.ID, nil, []kmip.Attribute{{AttributeName: kmip.AttributeNameLink, AttributeValue: parent}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := links(next), []kmip.Link{parent, link(kmip.LinkTypeReplacedObjectLink, o.ID)}; !slices.Equal(got, want) {
			t.Errorf("links %v, want %v", got, want)
		}
	})
}

// TestReKeyKeyPairLinks re-keys a certified key pair: each new half links
// to the other new half and to the half it replaces, nothing else (the
// certificate is for the old public key, which keeps its links).
func TestReKeyKeyPairLinks(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	pair, err := m.CreateKeyPair(ctx, []kmip.Attribute{
		{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmECDSA},
		{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: int32(256)},
	}, []kmip.Attribute{{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageSign}},
		[]kmip.Attribute{{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageVerify}})
	if err != nil {
		t.Fatal(err)
	}
	_, der := certFixture(t, ctx, m)
	cert, err := m.Certify(ctx, pair.Public.ID, der, nil)
	if err != nil {
		t.Fatal(err)
	}
	next, err := m.ReKeyKeyPair(ctx, pair.Private.ID, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   string
		want []kmip.Link
	}{
		{"new private key", next.Private.ID, []kmip.Link{link(kmip.LinkTypePublicKeyLink, next.Public.ID), link(kmip.LinkTypeReplacedObjectLink, pair.Private.ID)}},
		{"new public key", next.Public.ID, []kmip.Link{link(kmip.LinkTypePrivateKeyLink, next.Private.ID), link(kmip.LinkTypeReplacedObjectLink, pair.Public.ID)}},
		{"old private key", pair.Private.ID, []kmip.Link{link(kmip.LinkTypePublicKeyLink, pair.Public.ID), link(kmip.LinkTypeReplacementObjectLink, next.Private.ID)}},
		{"old public key", pair.Public.ID, []kmip.Link{link(kmip.LinkTypePrivateKeyLink, pair.Private.ID), link(kmip.LinkTypeCertificateLink, cert.ID), link(kmip.LinkTypeReplacementObjectLink, next.Public.ID)}},
		{"certificate", cert.ID, []kmip.Link{link(kmip.LinkTypePublicKeyLink, pair.Public.ID)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := links(reloaded(t, ctx, m, tt.id)); !slices.Equal(got, tt.want) {
				t.Errorf("links %v, want %v", got, tt.want)
			}
		})
	}
}
