package kmip

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"slices"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
)

// certifyRouter is a test router with a CA in a data directory of its
// own, sealed under its master key as the server's is.
func certifyRouter(t *testing.T) (*Router, *x509.Certificate) {
	t.Helper()
	r := newTestRouter(t)
	dir := t.TempDir()
	mk, err := barrier.CreateMasterKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.Init(dir, mk, nil); err != nil {
		t.Fatal(err)
	}
	issuer := pki.NewCertIssuer(dir, mk)
	WithCertIssuer(issuer)(r)
	ca, err := issuer.CACertificate()
	if err != nil {
		t.Fatal(err)
	}
	return r, ca
}

func certECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// certCSR makes a PKCS#10 request signed by key.
func certCSR(t *testing.T, key crypto.Signer, subject pkix.Name, dns ...string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func certName(v string) kmip.Attribute {
	return kmip.Attribute{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: v, NameType: kmip.NameTypeUninterpretedTextString}}
}

// certGet fetches a certificate object and parses it.
func certGet(t *testing.T, r *Router, id string) *x509.Certificate {
	t.Helper()
	got := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: id})
	c, isCert := got.Object.(*kmip.Certificate)
	if !isCert || c.CertificateType != kmip.CertificateTypeX_509 {
		t.Fatalf("Get answered %T", got.Object)
	}
	cert, err := x509.ParseCertificate(c.CertificateValue)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// certAttrs returns every value of the named attribute of id.
func certAttrs(t *testing.T, r *Router, id string, name kmip.AttributeName) []any {
	t.Helper()
	resp := ok[*payloads.GetAttributesResponsePayload](t, r, &payloads.GetAttributesRequestPayload{UniqueIdentifier: id, AttributeName: []kmip.AttributeName{name}})
	var out []any
	for _, a := range resp.Attribute {
		out = append(out, a.AttributeValue)
	}
	return out
}

func certLink(lt kmip.LinkType, id string) kmip.Link {
	return kmip.Link{LinkType: lt, LinkedObjectIdentifier: id}
}

func TestCertifyAndReCertify(t *testing.T) {
	r, ca := certifyRouter(t)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	key := certECKey(t)
	_, pubID := registerPair(t, r, key, kmip.CryptographicAlgorithmECDSA, 256, nil, kmip.CryptographicUsageSign, kmip.CryptographicUsageVerify)
	subject := pkix.Name{Country: []string{"US"}, Organization: []string{"ACME"}, CommonName: "Client"}
	csr := certCSR(t, key, subject, "client.example")

	certified := ok[*CertifyResponsePayload](t, r, &CertifyRequestPayload{UniqueIdentifier: pubID,
		CertificateRequestType: kmip.CertificateRequestTypePKCS_10, CertificateRequest: csr,
		TemplateAttribute: &kmip.TemplateAttribute{Attribute: []kmip.Attribute{certName("cert-1"),
			{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageVerify}}}})
	first := certGet(t, r, certified.UniqueIdentifier)
	req, err := x509.ParseCertificateRequest(csr)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("certificate", func(t *testing.T) {
		if _, err := first.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Fatalf("does not chain to the server CA: %v", err)
		}
		if !key.PublicKey.Equal(first.PublicKey) {
			t.Fatal("does not certify the public key")
		}
		if !bytes.Equal(first.RawSubject, req.RawSubject) || !slices.Equal(first.DNSNames, []string{"client.example"}) {
			t.Fatalf("subject %s %v, want the request's", first.Subject, first.DNSNames)
		}
		if first.KeyUsage != x509.KeyUsageDigitalSignature {
			t.Fatalf("key usage %v, want digital signature (the key's mask is Verify)", first.KeyUsage)
		}
	})
	t.Run("attributes and links", func(t *testing.T) {
		certID := certified.UniqueIdentifier
		if got := certAttrs(t, r, certID, kmip.AttributeNameLink); !slices.Equal(got, []any{certLink(kmip.LinkTypePublicKeyLink, pubID)}) {
			t.Fatalf("certificate links %v", got)
		}
		if got := certAttrs(t, r, pubID, kmip.AttributeNameLink); !slices.Equal(got, []any{certLink(kmip.LinkTypeCertificateLink, certID)}) {
			t.Fatalf("public key links %v", got)
		}
		if got := certAttrs(t, r, certID, kmip.AttributeNameName); len(got) != 1 || got[0].(kmip.Name).NameValue != "cert-1" {
			t.Fatalf("names %v", got)
		}
		subj := certAttrs(t, r, certID, kmip.AttributeNameCertificateSubject)
		if len(subj) != 1 || subj[0].(kmip.CertificateSubject).CertificateSubjectDistinguishedName != "CN=Client,O=ACME,C=US" {
			t.Fatalf("certificate subject %v", subj)
		}
		for _, n := range []kmip.AttributeName{kmip.AttributeNameCertificateIdentifier, kmip.AttributeNameCertificateIssuer,
			kmip.AttributeNameDigest, kmip.AttributeNameCertificateLength, kmip.AttributeNameDigitalSignatureAlgorithm} {
			if len(certAttrs(t, r, certID, n)) != 1 {
				t.Fatalf("no %s derived from the certificate", n)
			}
		}
	})

	offset := time.Hour
	recert := ok[*ReCertifyResponsePayload](t, r, &ReCertifyRequestPayload{UniqueIdentifier: certified.UniqueIdentifier,
		CertificateRequestType: kmip.CertificateRequestTypePKCS_10, CertificateRequest: csr, Offset: &offset,
		TemplateAttribute: &kmip.TemplateAttribute{Attribute: []kmip.Attribute{certName("cert-2")}}})
	oldID, newID := certified.UniqueIdentifier, recert.UniqueIdentifier
	second := certGet(t, r, newID)
	t.Run("re-certified certificate", func(t *testing.T) {
		if !key.PublicKey.Equal(second.PublicKey) || second.SerialNumber.Cmp(first.SerialNumber) == 0 {
			t.Fatal("want a new certificate for the same key")
		}
		if d := time.Until(second.NotBefore); d < 50*time.Minute || d > 70*time.Minute {
			t.Fatalf("not before %s: want now + the one-hour offset", second.NotBefore)
		}
		if got, want := second.NotAfter.Sub(second.NotBefore), first.NotAfter.Sub(first.NotBefore); got != want {
			t.Fatalf("validity %v, want the old one's %v", got, want)
		}
		act := certAttrs(t, r, newID, kmip.AttributeNameActivationDate)
		if len(act) != 1 || act[0].(time.Time).Sub(time.Now()) < 50*time.Minute {
			t.Fatalf("activation date %v, want now + offset", act)
		}
	})
	t.Run("names move and links follow", func(t *testing.T) {
		var names []string
		for _, v := range certAttrs(t, r, newID, kmip.AttributeNameName) {
			names = append(names, v.(kmip.Name).NameValue)
		}
		if !slices.Equal(names, []string{"cert-1", "cert-2"}) {
			t.Fatalf("new certificate's names %v, want the old one's and the template's", names)
		}
		if got := certAttrs(t, r, oldID, kmip.AttributeNameName); len(got) != 0 {
			t.Fatalf("old certificate keeps names %v", got)
		}
		if got := certAttrs(t, r, newID, kmip.AttributeNameLink); !slices.Equal(got, []any{
			certLink(kmip.LinkTypePublicKeyLink, pubID), certLink(kmip.LinkTypeReplacedObjectLink, oldID)}) {
			t.Fatalf("new certificate links %v", got)
		}
		if got := certAttrs(t, r, oldID, kmip.AttributeNameLink); !slices.Equal(got, []any{
			certLink(kmip.LinkTypePublicKeyLink, pubID), certLink(kmip.LinkTypeReplacementObjectLink, newID)}) {
			t.Fatalf("old certificate links %v", got)
		}
		if got := certAttrs(t, r, pubID, kmip.AttributeNameLink); !slices.Equal(got, []any{certLink(kmip.LinkTypeCertificateLink, newID)}) {
			t.Fatalf("public key links %v, want one Certificate Link to the new certificate", got)
		}
	})
}

func TestCertifyWithoutRequestOrKey(t *testing.T) {
	r, _ := certifyRouter(t)
	key := certECKey(t)
	privID, pubID := registerPair(t, r, key, kmip.CryptographicAlgorithmECDSA, 256, nil, kmip.CryptographicUsageSign, kmip.CryptographicUsageVerify)
	ok[*payloads.AddAttributeResponsePayload](t, r, &payloads.AddAttributeRequestPayload{UniqueIdentifier: privID,
		Attribute: kmip.Attribute{AttributeName: kmip.AttributeNameLink, AttributeValue: certLink(kmip.LinkTypePublicKeyLink, pubID)}})
	subject := kmip.Attribute{AttributeName: kmip.AttributeNameCertificateSubject, AttributeValue: kmip.CertificateSubject{
		CertificateSubjectDistinguishedName: `CN=dev\, 7,OU=Tape,O=ACME,C=US`, CertificateSubjectAlternativeName: []string{"dev7.example", "192.0.2.7"}}}

	t.Run("private key stands for its public key; subject from the template", func(t *testing.T) {
		resp := ok[*CertifyResponsePayload](t, r, &CertifyRequestPayload{UniqueIdentifier: privID,
			TemplateAttribute: &kmip.TemplateAttribute{Attribute: []kmip.Attribute{subject}}})
		cert := certGet(t, r, resp.UniqueIdentifier)
		if !key.PublicKey.Equal(cert.PublicKey) {
			t.Fatal("does not certify the private key's public key")
		}
		if cert.Subject.CommonName != "dev, 7" || cert.Subject.String() != `CN=dev\, 7,OU=Tape,O=ACME,C=US` {
			t.Fatalf("subject %q", cert.Subject)
		}
		if !slices.Equal(cert.DNSNames, []string{"dev7.example"}) || len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != "192.0.2.7" {
			t.Fatalf("alternative names %v %v", cert.DNSNames, cert.IPAddresses)
		}
		if got := certAttrs(t, r, resp.UniqueIdentifier, kmip.AttributeNameLink); !slices.Equal(got, []any{certLink(kmip.LinkTypePublicKeyLink, pubID)}) {
			t.Fatalf("links %v", got)
		}
	})
	t.Run("request alone, in PEM", func(t *testing.T) {
		other := certECKey(t)
		csr := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: certCSR(t, other, pkix.Name{CommonName: "solo"})})
		resp := ok[*CertifyResponsePayload](t, r, &CertifyRequestPayload{CertificateRequestType: kmip.CertificateRequestTypePEM, CertificateRequest: csr})
		cert := certGet(t, r, resp.UniqueIdentifier)
		if !other.PublicKey.Equal(cert.PublicKey) || cert.Subject.CommonName != "solo" {
			t.Fatal("want a certificate for the request's key and subject")
		}
		if got := certAttrs(t, r, resp.UniqueIdentifier, kmip.AttributeNameLink); len(got) != 0 {
			t.Fatalf("links %v, want none: no key object was named", got)
		}
	})
	t.Run("ID placeholder names the key", func(t *testing.T) {
		fresh := certECKey(t)
		der, err := x509.MarshalPKIXPublicKey(&fresh.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_0,
			&payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypePublicKey, Object: &kmip.PublicKey{KeyBlock: kmip.KeyBlock{
				KeyFormatType: kmip.KeyFormatTypeX_509, CryptographicAlgorithm: kmip.CryptographicAlgorithmECDSA, CryptographicLength: 256,
				KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &der}}}}}},
			&CertifyRequestPayload{TemplateAttribute: &kmip.TemplateAttribute{Attribute: []kmip.Attribute{subject}}},
			&payloads.GetRequestPayload{}))
		if len(resp.BatchItem) != 3 {
			t.Fatalf("%d items", len(resp.BatchItem))
		}
		for i, it := range resp.BatchItem {
			if it.ResultStatus != kmip.ResultStatusSuccess {
				t.Fatalf("item %d: %v %s", i, it.ResultReason, it.ResultMessage)
			}
		}
		certID := resp.BatchItem[1].ResponsePayload.(*CertifyResponsePayload).UniqueIdentifier
		if !fresh.PublicKey.Equal(certGet(t, r, certID).PublicKey) {
			t.Fatal("Certify did not certify the key the placeholder named")
		}
		if got := resp.BatchItem[2].ResponsePayload.(*payloads.GetResponsePayload).UniqueIdentifier; got != certID {
			t.Fatalf("the placeholder after Certify is %q, want the certificate %q", got, certID)
		}
	})
}
