package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
	"time"
)

func mustSubject(t *testing.T, n pkix.Name) []byte {
	t.Helper()
	der, err := asn1Subject(n)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// asn1Subject encodes a name as DER, the way a CSR carries it.
func asn1Subject(n pkix.Name) ([]byte, error) {
	tmpl := &x509.CertificateRequest{Subject: n}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, err
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, err
	}
	return csr.RawSubject, nil
}

func TestCertIssuerIssue(t *testing.T) {
	dir, mk := initDir(t)
	ca := mustReadCert(t, PathsFor(dir).CACert)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := mustSubject(t, pkix.Name{Country: []string{"US"}, Organization: []string{"ACME"},
		OrganizationalUnit: []string{"KMIP"}, CommonName: "Client"})
	rawSAN, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte("raw.example")}})
	if err != nil {
		t.Fatal(err)
	}
	issuer := NewCertIssuer(dir, mk)
	got, err := issuer.CACertificate()
	if err != nil || !got.Equal(ca) {
		t.Fatalf("CACertificate() = %v, %v; want the CA", got, err)
	}
	tests := []struct {
		name  string
		req   CertRequest
		usage x509.KeyUsage
	}{
		{name: "rsa signing key", req: CertRequest{PublicKey: &rsaKey.PublicKey, RawSubject: subject, KeyUsage: x509.KeyUsageDigitalSignature},
			usage: x509.KeyUsageDigitalSignature},
		{name: "ec key with names", req: CertRequest{PublicKey: &ecKey.PublicKey, RawSubject: subject,
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement, DNSNames: []string{"client.example"}},
			usage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement},
		{name: "no key usage", req: CertRequest{PublicKey: &rsaKey.PublicKey, RawSubject: subject}},
		{name: "raw subject alternative name", req: CertRequest{PublicKey: &ecKey.PublicKey, RawSubject: subject, RawSubjectAltName: rawSAN}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := issuer.Issue(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Fatalf("does not chain to the CA: %v", err)
			}
			pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
			if !ok || !pub.Equal(tt.req.PublicKey) {
				t.Fatal("the certificate does not certify the requested key")
			}
			if !bytes.Equal(cert.RawSubject, subject) {
				t.Fatalf("subject %q, want the request's bytes", cert.Subject)
			}
			if cert.KeyUsage != tt.usage {
				t.Fatalf("key usage %v, want %v", cert.KeyUsage, tt.usage)
			}
			if cert.IsCA || !cert.BasicConstraintsValid {
				t.Fatal("want an end-entity certificate with basic constraints")
			}
			if cert.SerialNumber.Sign() <= 0 || cert.SerialNumber.BitLen() > 128 {
				t.Fatalf("serial %x: want a positive 128-bit number", cert.SerialNumber)
			}
			if d := cert.NotAfter.Sub(cert.NotBefore); d < 364*24*time.Hour || d > 366*24*time.Hour {
				t.Fatalf("default validity %v, want one year", d)
			}
			if len(tt.req.DNSNames) > 0 && (len(cert.DNSNames) != 1 || cert.DNSNames[0] != tt.req.DNSNames[0]) {
				t.Fatalf("DNS names %v, want %v", cert.DNSNames, tt.req.DNSNames)
			}
			if tt.req.RawSubjectAltName != nil && (len(cert.DNSNames) != 1 || cert.DNSNames[0] != "raw.example") {
				t.Fatalf("DNS names %v, want the raw extension's raw.example", cert.DNSNames)
			}
		})
	}
	t.Run("serials differ", func(t *testing.T) {
		a, err := issuer.Issue(tests[0].req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := issuer.Issue(tests[0].req)
		if err != nil {
			t.Fatal(err)
		}
		ca, _ := x509.ParseCertificate(a)
		cb, _ := x509.ParseCertificate(b)
		if ca.SerialNumber.Cmp(cb.SerialNumber) == 0 {
			t.Fatal("two certificates share a serial number")
		}
	})
}

func TestIssueCertificateValidityAndRefusals(t *testing.T) {
	dir, mk := initDir(t)
	p := PathsFor(dir)
	ca := mustReadCert(t, p.CACert)
	caKey, err := openSealedKey(mk, p.CAKey, purposeCAKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := mustSubject(t, pkix.Name{CommonName: "device-7"})
	now := time.Now().UTC().Truncate(time.Second)
	start, end := now.Add(time.Hour), now.Add(48*time.Hour)
	t.Run("validity from the request", func(t *testing.T) {
		der, err := IssueCertificate(ca, caKey, CertRequest{PublicKey: &key.PublicKey, RawSubject: subject, NotBefore: start, NotAfter: end}, now)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if !cert.NotBefore.Equal(start) || !cert.NotAfter.Equal(end) {
			t.Fatalf("validity %s..%s, want %s..%s", cert.NotBefore, cert.NotAfter, start, end)
		}
	})
	leaf, _, err := newServerCert(ca, caKey, now, "", []string{"localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ca      *x509.Certificate
		req     CertRequest
		wantErr string
		// server: a fault of the server's CA, not of the request.
		server bool
	}{
		{name: "no public key", ca: ca, req: CertRequest{RawSubject: subject}, wantErr: "no public key"},
		{name: "unsupported key type", ca: ca, req: CertRequest{PublicKey: "not a key", RawSubject: subject}, wantErr: "not supported"},
		{name: "no subject", ca: ca, req: CertRequest{PublicKey: &key.PublicKey}, wantErr: "no subject"},
		{name: "malformed subject", ca: ca, req: CertRequest{PublicKey: &key.PublicKey, RawSubject: []byte{0x30, 0x05, 1}}, wantErr: "subject name"},
		{name: "ends before it starts", ca: ca, req: CertRequest{PublicKey: &key.PublicKey, RawSubject: subject, NotBefore: end, NotAfter: start},
			wantErr: "before it starts"},
		{name: "outlives the CA", ca: ca, req: CertRequest{PublicKey: &key.PublicKey, RawSubject: subject, NotAfter: ca.NotAfter.Add(time.Hour)},
			wantErr: "after the CA's"},
		{name: "issuer is not a CA", ca: leaf, req: CertRequest{PublicKey: &key.PublicKey, RawSubject: subject},
			wantErr: "not a certificate authority", server: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := IssueCertificate(tt.ca, caKey, tt.req, now)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrRefused) == tt.server {
				t.Fatalf("errors.Is(%v, ErrRefused) = %v, want %v", err, !tt.server, !tt.server)
			}
		})
	}
}

func TestCertIssuerWithoutCA(t *testing.T) {
	var nilIssuer *CertIssuer
	if _, err := nilIssuer.Issue(CertRequest{}); err == nil {
		t.Fatal("a nil issuer issued a certificate")
	}
	if _, err := NewCertIssuer(t.TempDir(), nil).Issue(CertRequest{}); err == nil {
		t.Fatal("an issuer without a master key issued a certificate")
	}
}
