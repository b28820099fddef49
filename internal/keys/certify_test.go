package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
)

// certFixture registers an EC public key and returns it with a
// certificate DER for it (self-signed: the keys package stores what the
// CA issued, it does not sign).
func certFixture(t *testing.T, ctx context.Context, m *Manager) (*Object, *kmip.Certificate) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := m.Register(ctx, kmip.ObjectTypePublicKey, &kmip.PublicKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType: kmip.KeyFormatTypeX_509, CryptographicAlgorithm: kmip.CryptographicAlgorithmECDSA, CryptographicLength: 256,
		KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &spki}}}}},
		[]kmip.Attribute{{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageVerify}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "fixture"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pub, &kmip.Certificate{CertificateType: kmip.CertificateTypeX_509, CertificateValue: der}
}

func links(o *Object) []kmip.Link {
	var out []kmip.Link
	for _, v := range o.AttrAll(kmip.AttributeNameLink) {
		out = append(out, v.(kmip.Link))
	}
	return out
}

func TestCertifyStoresAndLinks(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	pub, cert := certFixture(t, ctx, m)
	name := kmip.Attribute{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "c1", NameType: kmip.NameTypeUninterpretedTextString}}
	// A client's Public Key Link is the server's to set.
	bogus := kmip.Attribute{AttributeName: kmip.AttributeNameLink, AttributeValue: kmip.Link{LinkType: kmip.LinkTypePublicKeyLink, LinkedObjectIdentifier: "elsewhere"}}
	c1, err := m.Certify(ctx, pub.ID, cert, []kmip.Attribute{name, bogus})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("certificate object", func(t *testing.T) {
		if c1.Type != kmip.ObjectTypeCertificate || c1.Origin != OriginCreated {
			t.Fatalf("type %v origin %v", c1.Type, c1.Origin)
		}
		if !slices.Equal(links(c1), []kmip.Link{{LinkType: kmip.LinkTypePublicKeyLink, LinkedObjectIdentifier: pub.ID}}) {
			t.Fatalf("links %v", links(c1))
		}
		if _, ok := c1.Attr(kmip.AttributeNameRandomNumberGenerator); ok {
			t.Fatal("a certificate got a Random Number Generator")
		}
		for _, n := range []kmip.AttributeName{kmip.AttributeNameOriginalCreationDate, kmip.AttributeNameCertificateIdentifier,
			kmip.AttributeNameDigest, kmip.AttributeNameCertificateType, kmip.AttributeNameCertificateLength} {
			if _, ok := c1.Attr(n); !ok {
				t.Fatalf("no %s", n)
			}
		}
		if v, _ := c1.Attr(kmip.AttributeNameCryptographicLength); v != int32(256) {
			t.Fatalf("cryptographic length %v, want the key's 256", v)
		}
	})
	c2, err := m.Certify(ctx, pub.ID, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a second certificate takes the key's Certificate Link", func(t *testing.T) {
		key, err := m.Get(ctx, pub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(links(key), []kmip.Link{{LinkType: kmip.LinkTypeCertificateLink, LinkedObjectIdentifier: c2.ID}}) {
			t.Fatalf("key links %v", links(key))
		}
	})
	t.Run("no key", func(t *testing.T) {
		c, err := m.Certify(ctx, "", cert, nil)
		if err != nil || len(links(c)) != 0 {
			t.Fatalf("Certify without a key: %v, links %v", err, links(c))
		}
	})
}

func TestCertifyAccess(t *testing.T) {
	m, _ := newTestManager(t)
	groupA := WithAccess(context.Background(), Access{Group: "A"})
	pub, cert := certFixture(t, groupA, m)
	aesID := func() string {
		o, err := m.Create(groupA, kmip.ObjectTypeSymmetricKey, aesAttrs("aes"))
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}()
	tests := []struct {
		name string
		ctx  context.Context
		id   string
		want error
	}{
		{"another group's key looks missing", WithAccess(context.Background(), Access{Group: "B"}), pub.ID, ErrNotFound},
		{"read-only caller", WithAccess(context.Background(), Access{Group: "A", ReadOnly: true}), pub.ID, ErrPermissionDenied},
		{"not a public key", groupA, aesID, ErrInvalidField},
		{"missing key", groupA, "01a20000-0000-7000-8000-000000000000", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := m.Certify(tt.ctx, tt.id, cert, nil); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("an administrator's certificate joins the key's group", func(t *testing.T) {
		admin := WithAccess(context.Background(), Access{Group: "ops", AllGroups: true})
		c, err := m.Certify(admin, pub.ID, cert, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Group != "A" {
			t.Fatalf("group %q, want the key's A", c.Group)
		}
		if _, err := m.Get(groupA, c.ID); err != nil {
			t.Fatalf("the key's owner cannot see its certificate: %v", err)
		}
	})
	t.Run("the certificate of an owned key has its owner", func(t *testing.T) {
		alice := WithAccess(context.Background(), Access{Group: "A", Owner: "alice"})
		owned, cert := certFixture(t, alice, m)
		c, err := m.Certify(alice, owned.ID, cert, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Group != "A" || c.Owner != "alice" {
			t.Fatalf("group %q owner %q, want A and alice", c.Group, c.Owner)
		}
		bob := WithAccess(context.Background(), Access{Group: "A", Owner: "bob"})
		if _, err := m.Certify(bob, owned.ID, cert, nil); !errors.Is(err, ErrNotOwner) {
			t.Fatalf("another owner certified alice's key: %v", err)
		}
		next, err := m.ReCertify(alice, c.ID, cert, nil, nil)
		if err != nil || next.Owner != "alice" {
			t.Fatalf("re-certified: %v, owner %q", err, next.Owner)
		}
	})
	t.Run("no certificate value", func(t *testing.T) {
		if _, err := m.Certify(groupA, pub.ID, &kmip.Certificate{CertificateType: kmip.CertificateTypeX_509}, nil); !errors.Is(err, ErrInvalidField) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestReCertifyMovesNamesAndDates(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	pub, cert := certFixture(t, ctx, m)
	act := m.Now().Add(-time.Hour)
	deact := act.Add(24 * time.Hour)
	old, err := m.Certify(ctx, pub.ID, cert, []kmip.Attribute{
		{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "old", NameType: kmip.NameTypeUninterpretedTextString}},
		{AttributeName: kmip.AttributeNameActivationDate, AttributeValue: act},
		{AttributeName: kmip.AttributeNameDeactivationDate, AttributeValue: deact},
		{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageVerify},
	})
	if err != nil {
		t.Fatal(err)
	}
	offset := 2 * time.Hour
	next, err := m.ReCertify(ctx, old.ID, cert, &offset, []kmip.Attribute{
		{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "new", NameType: kmip.NameTypeUninterpretedTextString}},
	})
	if err != nil {
		t.Fatal(err)
	}
	prev, err := m.Get(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	key, err := m.Get(ctx, pub.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range next.AttrAll(kmip.AttributeNameName) {
		names = append(names, v.(kmip.Name).NameValue)
	}
	if !slices.Equal(names, []string{"old", "new"}) || len(prev.AttrAll(kmip.AttributeNameName)) != 0 {
		t.Fatalf("new names %v, old names %v", names, prev.AttrAll(kmip.AttributeNameName))
	}
	a, _ := next.Date(kmip.AttributeNameActivationDate)
	if d := a.Sub(m.Now().Add(offset)); d < -2*time.Second || d > 0 {
		t.Fatalf("activation %s, want now + offset", a)
	}
	if d, _ := next.Date(kmip.AttributeNameDeactivationDate); d.Sub(a) != deact.Sub(act) {
		t.Fatalf("deactivation %s keeps no distance to activation %s", d, a)
	}
	if v, _ := next.Attr(kmip.AttributeNameCryptographicUsageMask); v != kmip.CryptographicUsageVerify {
		t.Fatalf("usage mask %v not inherited", v)
	}
	if !slices.Equal(links(next), []kmip.Link{{LinkType: kmip.LinkTypePublicKeyLink, LinkedObjectIdentifier: pub.ID},
		{LinkType: kmip.LinkTypeReplacedObjectLink, LinkedObjectIdentifier: old.ID}}) {
		t.Fatalf("new links %v", links(next))
	}
	if !slices.Contains(links(prev), kmip.Link{LinkType: kmip.LinkTypeReplacementObjectLink, LinkedObjectIdentifier: next.ID}) {
		t.Fatalf("old links %v", links(prev))
	}
	if !slices.Equal(links(key), []kmip.Link{{LinkType: kmip.LinkTypeCertificateLink, LinkedObjectIdentifier: next.ID}}) {
		t.Fatalf("key links %v", links(key))
	}
	t.Run("only certificates", func(t *testing.T) {
		if _, err := m.ReCertify(ctx, pub.ID, cert, nil, nil); !errors.Is(err, ErrInvalidField) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestReCertifyNames: Re-certify applies its template as Re-key does
// (withTemplate): the names move to the new certificate, the names the
// request gives are added, a name the certificate already carries is not
// doubled, and other attributes replace the carried ones.
func TestReCertifyNames(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	pub, cert := certFixture(t, ctx, m)
	name := func(s string) kmip.Attribute {
		return kmip.Attribute{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: s, NameType: kmip.NameTypeUninterpretedTextString}}
	}
	contact := func(s string) kmip.Attribute {
		return kmip.Attribute{AttributeName: kmip.AttributeNameContactInformation, AttributeValue: s}
	}
	names := func(o *Object) []string {
		var out []string
		for _, v := range o.AttrAll(kmip.AttributeNameName) {
			out = append(out, v.(kmip.Name).NameValue)
		}
		return out
	}
	prev, err := m.Certify(ctx, pub.ID, cert, []kmip.Attribute{name("original")})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name        string
		attrs       []kmip.Attribute
		want        []string
		wantContact any
	}{
		{"no template: names move", nil, []string{"original"}, nil},
		{"the carried name given again is not doubled", []kmip.Attribute{name("original")}, []string{"original"}, nil},
		{"a new name and a contact", []kmip.Attribute{name("first"), contact("ops")}, []string{"original", "first"}, "ops"},
		{"carried names given with a new one, the contact replaced", []kmip.Attribute{name("first"), name("original"), name("second"), contact("sec")}, []string{"original", "first", "second"}, "sec"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			next, err := m.ReCertify(ctx, prev.ID, cert, nil, s.attrs)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(next); !slices.Equal(got, s.want) {
				t.Fatalf("new certificate names = %v, want %v", got, s.want)
			}
			if got, _ := next.Attr(kmip.AttributeNameContactInformation); got != s.wantContact {
				t.Fatalf("contact = %v, want %v", got, s.wantContact)
			}
			if n := len(next.AttrAll(kmip.AttributeNameContactInformation)); n > 1 {
				t.Fatalf("%d contacts: carried and given", n)
			}
			old, err := m.Get(ctx, prev.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(old); len(got) != 0 {
				t.Fatalf("replaced certificate keeps names %v", got)
			}
			prev = next
		})
	}
}
