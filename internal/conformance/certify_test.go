package conformance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// issueFor signs a certificate for pub with a throwaway CA: what another
// server's CA would answer to the vector's Certify.
func issueFor(t *testing.T, pub crypto.PublicKey, subject pkix.Name) []byte {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: now, NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: subject, NotBefore: now, NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestIssuedCertificateRule runs TC-134 (Register a key pair, Certify and
// Re-certify the public key) against the echo fake, each case altering
// one response: a certificate from another CA for the requested key, and
// the attributes derived from it, must pass; a certificate for another
// key, one that does not parse, and any other change must fail at the
// right path.
func TestIssuedCertificateRule(t *testing.T) {
	const (
		getCert     = 4  // Get of the certified certificate
		certAttrs   = 6  // its Certificate Identifier, Issuer, Subject, Type, Length
		pubLinks    = 9  // the public key's links
		newCertAttr = 11 // the re-certified certificate's links, identifier and names
	)
	s := mustLoad(t, vectorPath(t, "v1.0", "TC_134_10_Register_Key_Pair_Certify_and_Re_certify_Public_Key.xml"))
	vectorKey := registeredPublicKey(at(t, s.Exchanges[0].Request, "BatchItem/RequestPayload"))
	if vectorKey == nil {
		t.Fatal("the vector's registered public key does not parse")
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	client := pkix.Name{Country: []string{"US"}, Organization: []string{"ACME"}, OrganizationalUnit: []string{"KMIP"}, CommonName: "Client"}
	value := "BatchItem/ResponsePayload/Certificate/CertificateValue"
	payload := "BatchItem/ResponsePayload"
	tests := []struct {
		name     string
		ex       int
		mutate   func(*testing.T, *Node)
		wantPass bool
		wantPath string
		wantNote string
	}{
		{name: "unchanged", wantPass: true},
		{name: "another CA's certificate for the requested key", ex: getCert, wantPass: true,
			mutate: setValue(value, issueFor(t, vectorKey, client))},
		{name: "values derived from the certificate differ", ex: certAttrs, wantPass: true, mutate: all(
			setValue(payload+"/Attribute[0]/AttributeValue/Issuer", "CN=keywarden CA,O=keywarden"),
			setValue(payload+"/Attribute[0]/AttributeValue/SerialNumber", "0123456789ABCDEF0123456789ABCDEF"),
			setValue(payload+"/Attribute[1]/AttributeValue/CertificateIssuerDistinguishedName", "CN=keywarden CA,O=keywarden"))},
		{name: "derived identifier of the re-certified certificate differs", ex: newCertAttr, wantPass: true,
			mutate: setValue(payload+"/Attribute[2]/AttributeValue/SerialNumber", "01")},
		{name: "names of the re-certified certificate in the other order", ex: newCertAttr, wantPass: true, mutate: all(
			setValue(payload+"/Attribute[3]/AttributeValue/NameValue", "TC-134-10-certificate2"),
			setValue(payload+"/Attribute[4]/AttributeValue/NameValue", "TC-134-10-certificate1"))},

		{name: "certificate for another key", ex: getCert,
			mutate:   setValue(value, issueFor(t, &otherKey.PublicKey, client)),
			wantPath: value, wantNote: "does not certify the public key the request named"},
		{name: "certificate that does not parse", ex: getCert,
			mutate:   setValue(value, []byte{0x30, 0x03, 0x02, 0x01, 0x01}),
			wantPath: value, wantNote: "does not parse"},
		{name: "certificate type differs", ex: getCert,
			mutate:   setValue(payload+"/Certificate/CertificateType", uint32(kmip.CertificateTypePGP)),
			wantPath: payload + "/Certificate/CertificateType"},
		{name: "subject differs", ex: certAttrs,
			mutate:   setValue(payload+"/Attribute[2]/AttributeValue/CertificateSubjectDistinguishedName", "CN=Someone else"),
			wantPath: payload + "/Attribute[2]/AttributeValue/CertificateSubjectDistinguishedName", wantNote: "Certificate Subject"},
		{name: "key length differs", ex: certAttrs,
			mutate:   setValue(payload+"/Attribute[4]/AttributeValue", int32(1024)),
			wantPath: payload + "/Attribute[4]/AttributeValue", wantNote: "Cryptographic Length"},
		{name: "re-certified certificate names another replaced object", ex: newCertAttr,
			mutate:   setValue(payload+"/Attribute[0]/AttributeValue/LinkedObjectIdentifier", "no-such-object"),
			wantPath: payload + "/Attribute[0]/AttributeValue/LinkedObjectIdentifier"},
		{name: "re-certified certificate lacks a name", ex: newCertAttr, mutate: drop(payload + "/Attribute[4]"),
			wantPath: payload + "/Attribute[4]", wantNote: "missing"},
		{name: "public key's link indices swapped", ex: pubLinks, mutate: all(
			setValue(payload+"/Attribute[0]/AttributeValue/LinkType", uint32(kmip.LinkTypeCertificateLink)),
			setValue(payload+"/Attribute[1]/AttributeValue/LinkType", uint32(kmip.LinkTypePrivateKeyLink))),
			wantPath: payload + "/Attribute[0]/AttributeValue/LinkType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runEcho(t, s, tt.ex, tt.mutate)
			if tt.wantPass {
				if !r.Passed() {
					t.Fatalf("want PASS, got:\n%s", r.Report())
				}
				return
			}
			if r.Passed() {
				t.Fatal("want FAIL, got PASS")
			}
			m := firstMismatch(t, r)
			if m.Path != tt.wantPath || !strings.Contains(m.String(), tt.wantNote) {
				t.Errorf("first mismatch %q, want path %q and note %q", m, tt.wantPath, tt.wantNote)
			}
		})
	}
}

// TestIssuedKeyUnknown checks that a certificate is accepted only for a
// key the run knows: a Certify naming a key whose material the client
// never showed, without a certificate request, leaves the certificate to
// the exact comparison.
func TestIssuedKeyUnknown(t *testing.T) {
	prov := NewProvenance()
	req := &Node{Tag: kmip.TagRequestPayload, Children: []*Node{
		{Tag: kmip.TagUniqueIdentifier, Type: ttlv.TypeTextString, Value: "generated-key"},
	}}
	bi := &Node{Tag: kmip.TagBatchItem, Children: []*Node{
		{Tag: kmip.TagResultStatus, Type: ttlv.TypeEnumeration, Value: uint32(kmip.ResultStatusSuccess)},
		{Tag: kmip.TagResponsePayload, Children: []*Node{{Tag: kmip.TagUniqueIdentifier, Type: ttlv.TypeTextString, Value: "cert-1"}}},
	}}
	markIssued(uint32(kmip.OperationCertify), req, bi, prov)
	if prov.issuedKey("cert-1") != nil {
		t.Fatal("a certificate for an unknown key was accepted")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	prov.addRegisteredKey("generated-key", &key.PublicKey)
	markIssued(uint32(kmip.OperationCertify), req, bi, prov)
	if got := prov.issuedKey("cert-1"); got == nil || !key.PublicKey.Equal(got) {
		t.Fatal("the certificate of a registered key must certify that key")
	}
	// A Get by ID placeholder names the certificate in its response only.
	get := &Node{Tag: kmip.TagRequestPayload}
	if got := issuedFor(get, bi.Child(kmip.TagResponsePayload), prov); got == nil || !key.PublicKey.Equal(got) {
		t.Fatal("a Get by ID placeholder of an issued certificate is not recognised")
	}
	if issuedFor(get, nil, prov) != nil {
		t.Fatal("an exchange naming no object was taken for an issued certificate")
	}
}
