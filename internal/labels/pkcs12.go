package labels

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"
)

// maxPKCS12 bounds the PKCS#12 files Import opens.
const maxPKCS12 = 64 << 10

// parsePKCS12 opens a PKCS#12 file holding one RSA private key and its
// certificate (CA certificates in the file are ignored). Errors never quote
// the password or the key.
func parsePKCS12(data []byte, password string) (*rsa.PrivateKey, *x509.Certificate, error) {
	if len(data) > maxPKCS12 {
		return nil, nil, fmt.Errorf("%w: PKCS#12 file larger than %d bytes", ErrInvalid, maxPKCS12)
	}
	key, cert, _, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: PKCS#12: wrong password or not a PKCS#12 file with one key and certificate", ErrInvalid)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%w: PKCS#12: the private key is not RSA", ErrInvalid)
	}
	return rk, cert, nil
}
