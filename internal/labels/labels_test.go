package labels

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/eedk"
	"github.com/keywarden/keywarden/internal/keys"
)

// fakeSigner signs label certificates with a throw-away test CA.
type fakeSigner struct {
	ca    *x509.Certificate
	key   *rsa.PrivateKey
	calls int
}

func newFakeSigner(t *testing.T) *fakeSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeSigner{ca: ca, key: key}
}

func (f *fakeSigner) SignLabel(pub *rsa.PublicKey, name string) (*x509.Certificate, error) {
	f.calls++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(f.calls + 1)), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca, pub, f.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func newTestService(t *testing.T) (*Service, *keys.Manager, *fakeSigner) {
	t.Helper()
	sealed := barriertest.New(t)
	st, b := sealed.Store, sealed.Barrier
	m, err := keys.New(keys.Options{Store: st, Barrier: b})
	if err != nil {
		t.Fatal(err)
	}
	signer := newFakeSigner(t)
	return New(m, signer, nil), m, signer
}

// partnerPEM makes a partner's self-signed certificate and its private key.
func partnerPEM(t *testing.T, bits int) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := selfSign(key, "partner")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), key
}

func TestCreateWrapUnwrap(t *testing.T) {
	ctx := context.Background()
	s, _, signer := newTestService(t)
	tests := []struct {
		name     string
		opts     CreateOptions
		wantBits int
		wantHash crypto.Hash
		caSigned bool
	}{
		{"Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20", CreateOptions{Bits: 1024}, 1024, crypto.SHA256, true},
		{"default-2048", CreateOptions{}, 2048, crypto.SHA256, true},
		{"sha1.self", CreateOptions{OAEPHash: "SHA-1", SelfSigned: true}, 2048, crypto.SHA1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := signer.calls
			lb, err := s.Create(ctx, tc.name, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if lb.Bits != tc.wantBits || !lb.HasPrivateKey || lb.PrivateKeyID == "" || lb.Name != tc.name {
				t.Fatalf("label = %+v", lb)
			}
			if got := signer.calls > before; got != tc.caSigned {
				t.Errorf("signed by CA = %v, want %v", got, tc.caSigned)
			}
			pub, h, err := s.PublicKey(ctx, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if h != tc.wantHash {
				t.Errorf("hash = %v, want %v", h, tc.wantHash)
			}
			dataKey := bytes.Repeat([]byte{7}, eedk.DataKeySize)
			e, err := eedk.Wrap(pub, tc.name, eedk.ByLabel, h, dataKey)
			if err != nil {
				t.Fatal(err)
			}
			dec, h2, err := s.Decrypter(ctx, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if h2 != h {
				t.Errorf("decrypter hash = %v, want %v", h2, h)
			}
			got, err := eedk.Unwrap(dec, e)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, dataKey) {
				t.Error("unwrapped data key differs")
			}
			byHash, err := s.ByKeyHash(ctx, lb.KeyHash)
			if err != nil {
				t.Fatal(err)
			}
			if byHash.Name != tc.name {
				t.Errorf("ByKeyHash = %q, want %q", byHash.Name, tc.name)
			}
			want, _ := eedk.KeyHash(pub)
			if lb.KeyHash != want {
				t.Errorf("KeyHash = %s, want %s", lb.KeyHash, want)
			}
		})
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(tests) {
		t.Errorf("List = %d labels, want %d", len(list), len(tests))
	}
}

func TestStoredObjects(t *testing.T) {
	ctx := keys.WithAccess(context.Background(), keys.Access{AllGroups: true})
	s, m, _ := newTestService(t)
	lb, err := s.Create(ctx, "stored", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		id       string
		typ      kmip.ObjectType
		links    []kmip.LinkType
		extracts bool
	}{
		{"certificate", lb.CertificateID, kmip.ObjectTypeCertificate, []kmip.LinkType{kmip.LinkTypePublicKeyLink}, true},
		{"public key", lb.PublicKeyID, kmip.ObjectTypePublicKey, []kmip.LinkType{kmip.LinkTypeCertificateLink, kmip.LinkTypePrivateKeyLink}, true},
		{"private key", lb.PrivateKeyID, kmip.ObjectTypePrivateKey, []kmip.LinkType{kmip.LinkTypePublicKeyLink, kmip.LinkTypeCertificateLink}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := m.Get(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if o.Type != tc.typ || o.Group != keys.DefaultGroup || o.State != kmip.StateActive {
				t.Errorf("type %v group %q state %v", o.Type, o.Group, o.State)
			}
			if n, _ := o.Attr(kmip.AttributeNameName); n.(kmip.Name).NameValue != "stored" {
				t.Errorf("name = %v", n)
			}
			for _, lt := range tc.links {
				if linked(o, lt) == "" {
					t.Errorf("no %v link", lt)
				}
			}
			// The KMIP Get refuses an object whose Extractable is false.
			v, ok := o.Attr(kmip.AttributeNameExtractable)
			extractable := !ok || v != false
			if extractable != tc.extracts {
				t.Errorf("extractable = %v, want %v", extractable, tc.extracts)
			}
		})
	}
}

func TestPartnerAndImport(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestService(t)
	certPEM, key := partnerPEM(t, 2048)

	lb, err := s.ImportCert(ctx, "partner", certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if lb.HasPrivateKey || lb.PrivateKeyID != "" {
		t.Errorf("partner label has a private key: %+v", lb)
	}
	if _, _, err := s.Decrypter(ctx, "partner"); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("Decrypter(partner) = %v, want ErrNoPrivateKey", err)
	}
	pub, h, err := s.PublicKey(ctx, "partner")
	if err != nil || !pub.Equal(&key.PublicKey) || h != crypto.SHA256 {
		t.Errorf("PublicKey(partner) = %v, %v, %v", pub != nil, h, err)
	}
	out, err := s.ExportCert(ctx, "partner")
	if err != nil || !bytes.Equal(out, certPEM) {
		t.Errorf("ExportCert = %q, %v", out, err)
	}

	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEMs := map[string][]byte{
		"pkcs1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"pkcs8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}
	for format, keyPEM := range keyPEMs {
		t.Run(format, func(t *testing.T) {
			name := "pair-" + format
			if _, err := s.ImportKeyPair(ctx, name, certPEM, keyPEM); err != nil {
				t.Fatal(err)
			}
			dec, _, err := s.Decrypter(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if !dec.Public().(*rsa.PublicKey).Equal(&key.PublicKey) {
				t.Error("imported private key differs")
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestService(t)
	if _, err := s.Create(ctx, "taken", CreateOptions{Bits: 1024}); err != nil {
		t.Fatal(err)
	}
	certPEM, _ := partnerPEM(t, 1024)
	_, otherKey := partnerPEM(t, 1024)
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(otherKey)})
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"duplicate create", func() error { _, err := s.Create(ctx, "taken", CreateOptions{Bits: 1024}); return err }, ErrExists},
		{"duplicate import", func() error { _, err := s.ImportCert(ctx, "taken", certPEM); return err }, ErrExists},
		{"empty name", func() error { _, err := s.Create(ctx, "", CreateOptions{}); return err }, ErrInvalid},
		{"long name", func() error { _, err := s.Create(ctx, strings.Repeat("a", 65), CreateOptions{}); return err }, ErrInvalid},
		{"bad character", func() error { _, err := s.Create(ctx, "a/b", CreateOptions{}); return err }, ErrInvalid},
		{"too small", func() error { _, err := s.Create(ctx, "small", CreateOptions{Bits: 512}); return err }, ErrInvalid},
		{"too big", func() error { _, err := s.Create(ctx, "big", CreateOptions{Bits: 8192}); return err }, ErrInvalid},
		{"bad hash", func() error { _, err := s.Create(ctx, "md5", CreateOptions{OAEPHash: "MD5"}); return err }, ErrInvalid},
		{"not PEM", func() error { _, err := s.ImportCert(ctx, "junk", []byte("junk")); return err }, ErrInvalid},
		{"key mismatch", func() error { _, err := s.ImportKeyPair(ctx, "mismatch", certPEM, otherPEM); return err }, ErrInvalid},
		{"missing", func() error { _, err := s.Get(ctx, "missing"); return err }, ErrNotFound},
		{"missing hash", func() error { _, err := s.ByKeyHash(ctx, strings.Repeat("0", 64)); return err }, ErrNotFound},
		{"missing export", func() error { _, err := s.ExportCert(ctx, "missing"); return err }, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := s.Get(ctx, "mismatch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused import left a label behind: %v", err)
	}
}
