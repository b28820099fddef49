package kmip

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// testCert issues a certificate for key, signed by parent/signer (itself
// when parent is nil).
func testCert(t *testing.T, cn string, key *ecdsa.PrivateKey, parent *x509.Certificate, signer *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: parent == nil, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	if parent == nil {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func link(typ kmip.LinkType, id string) kmip.Attribute {
	return kmip.Attribute{AttributeName: kmip.AttributeNameLink, AttributeValue: kmip.Link{LinkType: typ, LinkedObjectIdentifier: id}}
}

// TestGetPKCS12 follows the flow of vector TC-PKCS12-1-14: a private key
// linked to its password and certificate chain is served as a PKCS#12
// bundle that a PKCS#12 reader opens with that password.
func TestGetPKCS12(t *testing.T) {
	r := newTestRouter(t)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caCert := testCert(t, "CA", caKey, nil, nil)
	leafCert := testCert(t, "EE", leafKey, caCert, caKey)
	regCert := func(c *x509.Certificate, extra ...kmip.Attribute) string {
		return register(t, r, kmip.ObjectTypeCertificate,
			&kmip.Certificate{CertificateType: kmip.CertificateTypeX_509, CertificateValue: c.Raw},
			keyOpts{mask: kmip.CryptographicUsageVerify, extra: extra})
	}
	caID := regCert(caCert)
	leafID := regCert(leafCert, link(kmip.LinkTypePKCS_12CertificateLink, caID))
	pw := []byte("password")
	pwID := register(t, r, kmip.ObjectTypeSecretData, &kmip.SecretData{SecretDataType: kmip.SecretDataTypePassword,
		KeyBlock: kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeOpaque,
			KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &pw}}}}},
		keyOpts{mask: kmip.CryptographicUsageDeriveKey})
	der, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	regKey := func(extra ...kmip.Attribute) string {
		return register(t, r, kmip.ObjectTypePrivateKey, &kmip.PrivateKey{KeyBlock: kmip.KeyBlock{
			KeyFormatType: kmip.KeyFormatTypePKCS_8, CryptographicAlgorithm: kmip.CryptographicAlgorithmECDSA, CryptographicLength: 256,
			KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &der}}}}},
			keyOpts{mask: kmip.CryptographicUsageSign, extra: extra})
	}
	full := regKey(link(kmip.LinkTypePKCS_12PasswordLink, pwID), link(kmip.LinkTypePKCS_12CertificateLink, leafID))
	noPassword := regKey(link(kmip.LinkTypePKCS_12CertificateLink, leafID))
	noCert := regKey(link(kmip.LinkTypePKCS_12PasswordLink, pwID))
	notACert := regKey(link(kmip.LinkTypePKCS_12PasswordLink, pwID), link(kmip.LinkTypePKCS_12CertificateLink, pwID))

	t.Run("bundle opens with the linked password", func(t *testing.T) {
		got := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: full, KeyFormatType: kmip.KeyFormatTypePKCS_12})
		kb := got.Object.(*kmip.PrivateKey).KeyBlock
		if kb.KeyFormatType != kmip.KeyFormatTypePKCS_12 || kb.KeyValue == nil || kb.KeyValue.Wrapped == nil {
			t.Fatalf("key block = %+v, want a PKCS#12 byte string", kb)
		}
		key, cert, chain, err := pkcs12.DecodeChain(*kb.KeyValue.Wrapped, "password")
		if err != nil {
			t.Fatalf("decode PKCS#12: %v", err)
		}
		if k, isEC := key.(*ecdsa.PrivateKey); !isEC || !k.Equal(leafKey) {
			t.Error("bundle holds another private key")
		}
		if !cert.Equal(leafCert) {
			t.Errorf("certificate = %s, want EE", cert.Subject)
		}
		if len(chain) != 1 || !chain[0].Equal(caCert) {
			t.Errorf("chain has %d certificates, want the CA", len(chain))
		}
		if _, _, _, err := pkcs12.DecodeChain(*kb.KeyValue.Wrapped, "wrong"); err == nil {
			t.Error("bundle opens with a wrong password")
		}
	})
	refusals := []struct {
		name   string
		id     string
		reason kmip.ResultReason
	}{
		{"no password link", noPassword, kmip.ResultReasonMissingData},
		{"no certificate link", noCert, kmip.ResultReasonMissingData},
		{"certificate link to secret data", notACert, kmip.ResultReasonInvalidField},
		{"not a private key", leafID, kmip.ResultReasonKeyFormatTypeNotSupported},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			fails(t, r, &payloads.GetRequestPayload{UniqueIdentifier: tc.id, KeyFormatType: kmip.KeyFormatTypePKCS_12}, tc.reason)
		})
	}
}
