package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OIDRoleExtension identifies the non-critical X.509 extension that carries a
// client's role. Its value is the DER encoding of
//
//	KeywardenRole ::= SEQUENCE {
//	    version  INTEGER,            -- 1
//	    role     UTF8String,         -- "admin" | "operator" | "auditor"
//	    group    UTF8String OPTIONAL -- default group for objects it creates
//	}
//
// The OID lives under 2.25, the UUID arc of ITU-T X.667, derived from the
// UUID f5d75dd8-5f23-4b5a-be82-fd6986066a0e generated once for keywarden.
// X.667's canonical form, 2.25.326779106198709363676148422430389856782 (the
// UUID as one 128-bit integer), cannot be used: Go's crypto/x509 rejects any
// certificate whose extension OID has an arc of 2^31 or more ("malformed
// extension OID field"), and so does every Go TLS peer. The UUID is therefore
// written as its eight 16-bit groups, one arc each:
//
//	f5d7.5dd8.5f23.4b5a.be82.fd69.8606.6a0e
//	2.25.62935.24024.24355.19290.48770.64873.34310.27150
//
// This keeps all 128 bits of the UUID's uniqueness. It is not an X.667
// allocation in the strict sense, but 2.25.62935 cannot collide with one:
// every RFC 4122 UUID is at least 2^63 as an integer.
var OIDRoleExtension = asn1.ObjectIdentifier{2, 25, 62935, 24024, 24355, 19290, 48770, 64873, 34310, 27150}

// roleExtensionVersion is the only version of KeywardenRole understood.
const roleExtensionVersion = 1

// roleOUPrefix starts the subject OU that repeats the role for humans; the
// extension, not the OU, is what the server trusts.
const roleOUPrefix = "keywarden-role:"

// maxNameLen bounds client names and groups (RFC 5280 ub-common-name).
const maxNameLen = 64

// Identity is who a verified client certificate speaks for.
type Identity struct {
	// Name is the certificate's subject common name.
	Name string
	// Role is the role from the role extension.
	Role Role
	// Group is the group from the role extension; empty when the
	// certificate names none.
	Group string
	// Fingerprint is the lowercase hex SHA-256 of the certificate's DER.
	Fingerprint string
}

// ErrNoRole is returned by IdentityFromCert for a certificate without the
// role extension.
var ErrNoRole = errors.New("pki: certificate has no keywarden role extension")

// IdentityFromCert reads the identity of a client certificate. The caller
// must already have verified the certificate against the CA (the TLS
// handshake does); IdentityFromCert only decodes it.
func IdentityFromCert(cert *x509.Certificate) (Identity, error) {
	if cert == nil {
		return Identity{}, errors.New("pki: identity: no certificate")
	}
	var ext *pkix.Extension
	for i := range cert.Extensions {
		if cert.Extensions[i].Id.Equal(OIDRoleExtension) {
			ext = &cert.Extensions[i]
			break
		}
	}
	if ext == nil {
		return Identity{}, ErrNoRole
	}
	role, group, err := parseRoleExtension(ext.Value)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: identity of %q: %w", cert.Subject.CommonName, err)
	}
	return Identity{
		Name:        cert.Subject.CommonName,
		Role:        role,
		Group:       group,
		Fingerprint: Fingerprint(cert),
	}, nil
}

// roleExtension builds the role extension for role and optional group.
func roleExtension(role Role, group string) (pkix.Extension, error) {
	if !role.Valid() {
		_, err := ParseRole(string(role))
		return pkix.Extension{}, err
	}
	if group != "" {
		if err := validateName(group); err != nil {
			return pkix.Extension{}, fmt.Errorf("pki: group: %w", err)
		}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(roleExtensionVersion)
		b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(role)) })
		if group != "" {
			b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(group)) })
		}
	})
	der, err := b.Bytes()
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("pki: encode role extension: %w", err)
	}
	return pkix.Extension{Id: OIDRoleExtension, Critical: false, Value: der}, nil
}

// parseRoleExtension decodes a KeywardenRole value strictly: one SEQUENCE,
// nothing after it, version 1, a known role, a well-formed group if any.
func parseRoleExtension(der []byte) (Role, string, error) {
	input := cryptobyte.String(der)
	var seq cryptobyte.String
	if !input.ReadASN1(&seq, cbasn1.SEQUENCE) || !input.Empty() {
		return "", "", errors.New("malformed role extension")
	}
	var version int64
	if !seq.ReadASN1Integer(&version) {
		return "", "", errors.New("malformed role extension version")
	}
	if version != roleExtensionVersion {
		return "", "", fmt.Errorf("unsupported role extension version %d", version)
	}
	var roleBytes cryptobyte.String
	if !seq.ReadASN1(&roleBytes, cbasn1.UTF8String) || !utf8.Valid(roleBytes) {
		return "", "", errors.New("malformed role in role extension")
	}
	role, err := ParseRole(string(roleBytes))
	if err != nil {
		return "", "", err
	}
	var group string
	if seq.PeekASN1Tag(cbasn1.UTF8String) {
		var groupBytes cryptobyte.String
		if !seq.ReadASN1(&groupBytes, cbasn1.UTF8String) || !utf8.Valid(groupBytes) {
			return "", "", errors.New("malformed group in role extension")
		}
		group = string(groupBytes)
		if err := validateName(group); err != nil {
			return "", "", fmt.Errorf("group in role extension: %w", err)
		}
	}
	if !seq.Empty() {
		return "", "", errors.New("trailing data in role extension")
	}
	return role, group, nil
}

// validateName checks a client name or group: 1 to 64 characters among
// ASCII letters, digits, '.', '_' and '-', and not "." or "..". Such a name
// is safe as a file name and as a certificate common name.
func validateName(name string) error {
	if name == "" {
		return errors.New("name is empty")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("name %q is longer than %d characters", name, maxNameLen)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("name %q is not allowed", name)
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("name %q contains %q (allowed: letters, digits, '.', '_', '-')", name, c)
		}
	}
	return nil
}

// Fingerprint returns the fingerprint of a certificate: the lowercase hex
// SHA-256 of its DER encoding. Device bindings, revocations and logs all
// name certificates by it.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}
