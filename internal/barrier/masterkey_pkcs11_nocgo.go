//go:build !cgo

package barrier

import "fmt"

// pkcs11Unavailable explains why this binary cannot reach a token.
func pkcs11Unavailable(cfg PKCS11Config) error {
	return &detailedError{
		msg: fmt.Sprintf("barrier: PKCS#11 %s: this keywarden binary was built without cgo and has no PKCS#11 support: "+
			"rebuild it with a C compiler and CGO_ENABLED=1 (e.g. CGO_ENABLED=1 go build ./cmd/keywarden)", cfg.where()),
		err: ErrPKCS11Unavailable,
	}
}

// createPKCS11MasterKey refuses: PKCS#11 needs cgo.
func createPKCS11MasterKey(_ string, cfg PKCS11Config, _ []byte) (MasterKey, error) {
	return nil, pkcs11Unavailable(cfg)
}

// openPKCS11MasterKey refuses: PKCS#11 needs cgo.
func openPKCS11MasterKey(d pkcs11Descriptor, _ []byte) (MasterKey, error) {
	return nil, pkcs11Unavailable(d.PKCS11Config)
}
