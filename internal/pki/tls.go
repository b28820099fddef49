package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/keywarden/keywarden/internal/barrier"
)

// cipherSuites are the TLS 1.2 suites keywarden accepts: ECDHE key exchange
// with an AEAD cipher only, for ECDSA certificates (all keywarden
// certificates are ECDSA). TLS 1.3 suites are not configurable and all AEAD.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
}

// LoadServerTLS returns the TLS configuration of every keywarden listener:
// the server certificate with its key opened under mk, client certificates
// required and verified against the CA, TLS 1.2 or later.
func LoadServerTLS(dataDir string, mk barrier.MasterKey) (*tls.Config, error) {
	p := PathsFor(dataDir)
	ca, err := readCert(p.CACert)
	if err != nil {
		return nil, err
	}
	cert, err := readCert(p.ServerCert)
	if err != nil {
		return nil, err
	}
	if err := cert.CheckSignatureFrom(ca); err != nil {
		return nil, fmt.Errorf("pki: %s is not signed by %s: %w", p.ServerCert, p.CACert, err)
	}
	key, err := openSealedKey(mk, p.ServerKey, purposeServerKey)
	if err != nil {
		return nil, err
	}
	if err := matchKey(cert, key, "server"); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{
		Certificates: []tls.Certificate{{
			Certificate: [][]byte{cert.Raw},
			PrivateKey:  key,
			Leaf:        cert,
		}},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		CipherSuites: cipherSuites,
	}, nil
}

// ClientTLS returns a TLS configuration for a client of a keywarden server:
// it trusts only the CA in caPath and presents the certificate and PKCS#8
// key in certPath and keyPath.
func ClientTLS(caPath, certPath, keyPath string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		return nil, fmt.Errorf("pki: read CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("pki: %s: no PEM certificate", caPath)
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("pki: load client certificate %s: %w", certPath, err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		RootCAs:      pool,
		MinVersion:   tls.VersionTLS12,
		CipherSuites: cipherSuites,
	}, nil
}
