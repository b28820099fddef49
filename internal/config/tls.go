package config

import (
	"crypto/tls"
	"fmt"
)

// cipherSuiteIDs are the TLS 1.2 suites a keywarden listener can offer:
// ECDHE key exchange with an AEAD cipher, for the ECDSA certificates
// keywarden issues. The default is all three.
var cipherSuiteIDs = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
}

// cipherSuiteNames are the Go names of cipherSuiteIDs.
func cipherSuiteNames() []string {
	out := make([]string, len(cipherSuiteIDs))
	for i, id := range cipherSuiteIDs {
		out[i] = tls.CipherSuiteName(id)
	}
	return out
}

// TLSMinVersion returns the crypto/tls version of MinVersion.
func (t TLS) TLSMinVersion() (uint16, error) {
	switch t.MinVersion {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("config: tls.min_version %q: want 1.2 or 1.3", t.MinVersion)
}

// TLSCipherSuites returns the crypto/tls ids of CipherSuites; nil means
// the server's defaults.
func (t TLS) TLSCipherSuites() ([]uint16, error) {
	if len(t.CipherSuites) == 0 {
		return nil, nil
	}
	out := make([]uint16, 0, len(t.CipherSuites))
	for _, name := range t.CipherSuites {
		found := false
		for _, id := range cipherSuiteIDs {
			if tls.CipherSuiteName(id) == name {
				out = append(out, id)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("config: tls.cipher_suites: %q is not offered: want some of %v", name, cipherSuiteNames())
		}
	}
	return out, nil
}
