package labels

import (
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Domain errors. The admin API maps them to HTTP statuses in one table.
var (
	// ErrNotFound: no label has that name (or key hash).
	ErrNotFound = errors.New("labels: label not found")
	// ErrExists: a label with that name exists already.
	ErrExists = errors.New("labels: label already exists")
	// ErrInvalid: a name, size, hash, certificate or key is invalid.
	ErrInvalid = errors.New("labels: invalid value")
	// ErrNoPrivateKey: the label is a partner's certificate alone; it
	// wraps but cannot unwrap.
	ErrNoPrivateKey = errors.New("labels: label has no private key")
)

// Key sizes and OAEP hashes a label may have.
const (
	DefaultBits = 2048
	MinBits     = 1024
	// FIPSMinBits is the smallest RSA key a label may have in FIPS 140-3
	// mode.
	FIPSMinBits = 2048
	MaxBits     = 4096
	// WeakBits and below are accepted (the seed's and migrated labels) with
	// a logged warning.
	WeakBits = 1024

	HashSHA256 = "SHA-256"
	HashSHA1   = "SHA-1"

	maxNameLen = 64
)

// Custom attributes of a label's certificate.
const (
	attrOAEPHash = "x-keywarden-oaep-hash"
	attrKeyHash  = "x-keywarden-key-hash"
)

// Label is a key label's public description. It never holds key material.
type Label struct {
	Name string
	Bits int
	// OAEPHash is "SHA-256" or "SHA-1".
	OAEPHash string
	// HasPrivateKey is false for a partner's certificate alone.
	HasPrivateKey bool
	// KeyHash is the hex SHA-256 of the DER SubjectPublicKeyInfo
	// (eedk.KeyHash), as encoding H identifies the label.
	KeyHash  string
	Subject  string
	NotAfter time.Time
	// The ids of the label's managed objects (PrivateKeyID is empty
	// without a private key).
	CertificateID, PublicKeyID, PrivateKeyID string
	// HSM: the private key lives in a PKCS#11 token (HSMToken) as the key
	// pair with CKA_ID HSMKeyID (hex); it never leaves the token and
	// PrivateKeyID is empty.
	HSM                bool
	HSMToken, HSMKeyID string
}

// CreateOptions are the parameters of Create.
type CreateOptions struct {
	// Bits is the RSA key size: 1024–4096, default 2048.
	Bits int
	// OAEPHash is "SHA-256" (default) or "SHA-1".
	OAEPHash string
	// SelfSigned signs the certificate with the label's own key instead of
	// the server CA.
	SelfSigned bool
	// HSM generates the key pair in the server's PKCS#11 token: the
	// private key is non-extractable and EEDKs are unwrapped in the token.
	// Without OAEPHash the token's best OAEP hash is chosen (SHA-256, else
	// SHA-1, all SoftHSM2 offers).
	HSM bool
}

// ValidateName reports whether name is a valid label name: 1–64 letters,
// digits, '_', '-' and '.'.
func ValidateName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("%w: label name %q: want 1 to %d characters", ErrInvalid, name, maxNameLen)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
		if !ok {
			return fmt.Errorf("%w: label name %q: only letters, digits, '_', '-' and '.' are allowed", ErrInvalid, name)
		}
	}
	return nil
}

// parseHash returns the crypto.Hash of an OAEP hash name ("" is SHA-256).
func parseHash(s string) (string, crypto.Hash, error) {
	switch s {
	case "", HashSHA256:
		return HashSHA256, crypto.SHA256, nil
	case HashSHA1:
		return HashSHA1, crypto.SHA1, nil
	}
	return "", 0, fmt.Errorf("%w: OAEP hash %q: want %s or %s", ErrInvalid, s, HashSHA256, HashSHA1)
}

// customAttr is a custom text attribute as keys.Manager stores it (and as a
// KMIP client sends it): a tagged Attribute Value.
func customAttr(name kmip.AttributeName, s string) kmip.Attribute {
	return kmip.Attribute{AttributeName: name, AttributeValue: ttlv.Value{Tag: kmip.TagAttributeValue, Value: s}}
}

// customString reads a custom text attribute's value.
func customString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case ttlv.Value:
		s, _ := x.Value.(string)
		return s
	}
	return ""
}
