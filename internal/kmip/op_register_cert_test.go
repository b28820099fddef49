package kmip

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

// certForRegister makes an ECDSA P-384 certificate named C=US,O=TEST,OU=OASIS,CN=KMIP.
func certForRegister(t *testing.T, serial int64) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name := pkix.Name{Country: []string{"US"}, Organization: []string{"TEST"}, OrganizationalUnit: []string{"OASIS"}, CommonName: "KMIP"}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: name, Issuer: name,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"kmip.test"},
		SignatureAlgorithm: x509.ECDSAWithSHA384}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRegisterCertificateDerivesAttributes(t *testing.T) {
	r := newTestRouter(t)
	cert := certForRegister(t, 0xDADA)
	reg := ok[*payloads.RegisterResponsePayload](t, r, &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypeCertificate,
		Object: &kmip.Certificate{CertificateType: kmip.CertificateTypeX_509, CertificateValue: cert.Raw}})
	serialDER, err := asn1.Marshal(cert.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	const dn = "CN=KMIP,OU=OASIS,O=TEST,C=US"
	tests := []struct {
		name  string
		attr  kmip.AttributeName
		check func(v any) bool
	}{
		{"certificate identifier", kmip.AttributeNameCertificateIdentifier, func(v any) bool {
			ci := v.(kmip.CertificateIdentifier)
			return ci.Issuer == dn && ci.SerialNumber == "DADA"
		}},
		{"certificate subject", kmip.AttributeNameCertificateSubject, func(v any) bool {
			cs := v.(kmip.CertificateSubject)
			return cs.CertificateSubjectDistinguishedName == dn && len(cs.CertificateSubjectAlternativeName) == 1 && cs.CertificateSubjectAlternativeName[0] == "kmip.test"
		}},
		{"certificate issuer", kmip.AttributeNameCertificateIssuer, func(v any) bool {
			return v.(kmip.CertificateIssuer).CertificateIssuerDistinguishedName == dn
		}},
		{"x.509 certificate identifier", kmip.AttributeNameX509CertificateIdentifier, func(v any) bool {
			xi := v.(kmip.X_509CertificateIdentifier)
			return bytes.Equal(xi.IssuerDistinguishedName, cert.RawIssuer) && bytes.Equal(xi.CertificateSerialNumber, serialDER)
		}},
		{"x.509 certificate subject", kmip.AttributeNameX509CertificateSubject, func(v any) bool {
			xs := v.(kmip.X_509CertificateSubject)
			return bytes.Equal(xs.SubjectDistinguishedName, cert.RawSubject) && len(xs.SubjectAlternativeName) == 1
		}},
		{"x.509 certificate issuer", kmip.AttributeNameX509CertificateIssuer, func(v any) bool {
			return bytes.Equal(v.(kmip.X_509CertificateIssuer).IssuerDistinguishedName, cert.RawIssuer)
		}},
		{"digital signature algorithm", kmip.AttributeNameDigitalSignatureAlgorithm, func(v any) bool {
			return v == kmip.DigitalSignatureAlgorithmECDSAWithSHA384
		}},
		{"cryptographic length", kmip.AttributeNameCryptographicLength, func(v any) bool { return v == int32(384) }},
		{"certificate type", kmip.AttributeNameCertificateType, func(v any) bool { return v == kmip.CertificateTypeX_509 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ga := ok[*payloads.GetAttributesResponsePayload](t, r, &payloads.GetAttributesRequestPayload{
				UniqueIdentifier: reg.UniqueIdentifier, AttributeName: []kmip.AttributeName{tc.attr}})
			if len(ga.Attribute) != 1 {
				t.Fatalf("got %d instances of %s, want 1", len(ga.Attribute), tc.attr)
			}
			if v := ga.Attribute[0].AttributeValue; !tc.check(v) {
				t.Fatalf("%s = %#v", tc.attr, v)
			}
		})
	}
	t.Run("a 1.0 client sees no 1.1 attributes", func(t *testing.T) {
		resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_0, &payloads.GetAttributesRequestPayload{UniqueIdentifier: reg.UniqueIdentifier}))
		ga := resp.BatchItem[0].ResponsePayload.(*payloads.GetAttributesResponsePayload)
		seen := map[kmip.AttributeName]bool{}
		for _, a := range ga.Attribute {
			seen[a.AttributeName] = true
		}
		if !seen[kmip.AttributeNameCertificateIdentifier] || seen[kmip.AttributeNameX509CertificateIdentifier] || seen[kmip.AttributeNameDigitalSignatureAlgorithm] {
			t.Fatalf("1.0 attributes: %v", seen)
		}
	})
	t.Run("unparsable certificate stored without derived attributes", func(t *testing.T) {
		bad := ok[*payloads.RegisterResponsePayload](t, r, &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypeCertificate,
			Object: &kmip.Certificate{CertificateType: kmip.CertificateTypeX_509, CertificateValue: []byte("not DER")}})
		ga := ok[*payloads.GetAttributesResponsePayload](t, r, &payloads.GetAttributesRequestPayload{
			UniqueIdentifier: bad.UniqueIdentifier, AttributeName: []kmip.AttributeName{kmip.AttributeNameCertificateIdentifier}})
		if len(ga.Attribute) != 0 {
			t.Fatalf("derived %v from garbage", ga.Attribute)
		}
	})
}
