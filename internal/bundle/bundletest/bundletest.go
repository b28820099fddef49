// Package bundletest makes label bundle contents for tests.
package bundletest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/bundle"
)

// Label makes a bundle label named name: a self-signed certificate for
// certKey's public key and the private key key in PKCS#8. Giving a key
// other than certKey makes a label whose key does not match its
// certificate, which an import must refuse.
func Label(t testing.TB, name string, certKey, key *rsa.PrivateKey) bundle.Label {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &certKey.PublicKey, certKey)
	if err != nil {
		t.Fatalf("bundletest: certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("bundletest: private key: %v", err)
	}
	return bundle.Label{Name: name, CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))}
}
