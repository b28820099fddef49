package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// Validity periods and the backdating that absorbs clock skew between the
// server and its clients.
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 2 * 365 * 24 * time.Hour
	backdate     = 5 * time.Minute
)

// newSerial returns a random positive 128-bit serial number.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("pki: serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// newKey generates an ECDSA key on curve.
func newKey(curve elliptic.Curve) (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate key: %w", err)
	}
	return key, nil
}

// sign creates a certificate from tmpl for pub, signed by parent/parentKey,
// and returns it parsed.
func sign(tmpl, parent *x509.Certificate, pub, parentKey any) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, fmt.Errorf("pki: create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse new certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return cert, nil
}

// create generates a P-256 key and a serial number for tmpl and signs it
// with parentKey under parent, or self-signs it when parent is nil.
// tmpl.NotBefore is backdated from now.
func create(tmpl *x509.Certificate, now time.Time, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := newKey(elliptic.P256())
	if err != nil {
		return nil, nil, err
	}
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return nil, nil, err
	}
	tmpl.NotBefore = now.Add(-backdate)
	tmpl.BasicConstraintsValid = true
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	cert, err := sign(tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// withHost appends the host name, when known, to a common name.
func withHost(cn, hostname string) string {
	if hostname == "" {
		return cn
	}
	return cn + " " + hostname
}

// newCA creates the self-signed CA certificate and its key. The CA key is
// P-256 (128-bit security, like the AES-128 minimum of TLS 1.2 suites):
// it verifies several times faster than P-384 in Go, and every full
// handshake checks two signatures of this CA (docs/BENCHMARKS.md).
func newCA(now time.Time, hostname string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	return create(&x509.Certificate{
		Subject:        pkix.Name{CommonName: withHost("keywarden CA", hostname), Organization: []string{"keywarden"}},
		NotAfter:       now.Add(caValidity),
		KeyUsage:       x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		IsCA:           true,
		MaxPathLenZero: true,
	}, now, nil, nil)
}

// newServerCert creates the server certificate for the given names.
func newServerCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, now time.Time, hostname string, dnsNames []string, ips []net.IP) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	return create(&x509.Certificate{
		Subject:     pkix.Name{CommonName: withHost("keywarden server", hostname), Organization: []string{"keywarden"}},
		NotAfter:    now.Add(leafValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    dnsNames,
		IPAddresses: ips,
	}, now, ca, caKey)
}

// newClientCert creates a client certificate named name carrying role and
// group in the role extension and, for humans, in the subject OU.
func newClientCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, now time.Time, name string, role Role, group string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	ext, err := roleExtension(role, group)
	if err != nil {
		return nil, nil, err
	}
	return create(&x509.Certificate{
		Subject: pkix.Name{
			CommonName:         name,
			Organization:       []string{"keywarden"},
			OrganizationalUnit: []string{roleOUPrefix + string(role)},
		},
		NotAfter:        now.Add(leafValidity),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		ExtraExtensions: []pkix.Extension{ext},
	}, now, ca, caKey)
}

// serverNames returns the DNS and IP subject alternative names of the server
// certificate: localhost, 127.0.0.1, ::1, hostname (when it is a valid DNS
// name) and every extra name, IPs as IP SANs and the rest as DNS names,
// without duplicates. An invalid extra name is an error.
func serverNames(hostname string, extra []string) ([]string, []net.IP, error) {
	var (
		dnsNames []string
		ips      []net.IP
		seen     = map[string]bool{}
	)
	add := func(name string) error {
		if ip := net.ParseIP(name); ip != nil {
			if !seen["ip:"+ip.String()] {
				seen["ip:"+ip.String()] = true
				ips = append(ips, ip)
			}
			return nil
		}
		name = strings.ToLower(name)
		if err := validateDNSName(name); err != nil {
			return err
		}
		if !seen["dns:"+name] {
			seen["dns:"+name] = true
			dnsNames = append(dnsNames, name)
		}
		return nil
	}
	for _, n := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := add(n); err != nil {
			return nil, nil, err
		}
	}
	if hostname != "" && validateDNSName(strings.ToLower(hostname)) == nil {
		_ = add(hostname) // validated just above
	}
	for _, n := range extra {
		if err := add(strings.TrimSpace(n)); err != nil {
			return nil, nil, fmt.Errorf("pki: server name %q: %w", n, err)
		}
	}
	return dnsNames, ips, nil
}

// validateDNSName accepts host names and wildcard names ("*.example.com"):
// labels of 1 to 63 letters, digits, '-' or '_', 253 characters in all.
func validateDNSName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 253 {
		return errors.New("name longer than 253 characters")
	}
	labels := strings.Split(strings.TrimPrefix(name, "*."), ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return errors.New("not a valid DNS name or IP address")
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return errors.New("not a valid DNS name or IP address")
			}
		}
	}
	return nil
}
