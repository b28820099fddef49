package kmip

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/pki"
)

// Certify's refusals.
var (
	errCSRType      = kerr(kmip.ResultReasonFeatureNotSupported, "certificate request type not supported: send a PKCS#10 request (type PKCS_10, or PEM)")
	errCSRNoType    = kerr(kmip.ResultReasonMissingData, "certificate request without a certificate request type")
	errCSRParse     = kerr(kmip.ResultReasonInvalidField, "certificate request is not a valid PKCS#10 request")
	errCSRSignature = kerr(kmip.ResultReasonInvalidField, "certificate request signature does not verify")
	errCSRKey       = kerr(kmip.ResultReasonInvalidField, "certificate request does not hold the public key being certified")
	errNoSubject    = kerr(kmip.ResultReasonMissingData, "no certificate subject: send a certificate request or a Certificate Subject attribute")
	errBadSubject   = kerr(kmip.ResultReasonInvalidField, "certificate subject name cannot be read")
	errIssuer       = kerr(kmip.ResultReasonInvalidField, "certificate issuer must be this server's CA")
	errNothingToSig = kerr(kmip.ResultReasonMissingData, "Certify needs a public key (Unique Identifier or ID placeholder) or a certificate request")
)

// parseCSR reads and checks a certificate request: PKCS#10 in DER, or in
// PEM. Its self-signature must verify. CRMF and PGP requests are refused.
func parseCSR(typ kmip.CertificateRequestType, data []byte) (*x509.CertificateRequest, error) {
	switch typ {
	case kmip.CertificateRequestTypePKCS_10:
	case kmip.CertificateRequestTypePEM:
		block, _ := pem.Decode(data)
		if block == nil || (block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST") {
			return nil, errCSRParse
		}
		data = block.Bytes
	case 0:
		return nil, errCSRNoType
	default:
		return nil, errCSRType
	}
	csr, err := x509.ParseCertificateRequest(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCSRParse, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %w", errCSRSignature, err)
	}
	return csr, nil
}

// samePublicKey reports whether two public keys are equal.
func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// certSubject is what a Certify template says about the certificate's
// subject and issuer (KMIP 1.0 Certificate Subject / Issuer, KMIP 1.1+
// X.509 Certificate Subject / Issuer). These attributes describe the
// certificate to issue; they are not stored as given, the stored ones are
// derived from the issued certificate.
type certSubject struct {
	rawSubject []byte
	altNames   []string // KMIP 1.0 text alternative names
	rawSAN     []byte   // KMIP 1.1 DER subject alternative name
	issuerText string
	issuerRaw  []byte
}

// splitSubject takes the subject and issuer attributes out of attrs.
func splitSubject(attrs []kmip.Attribute) (certSubject, []kmip.Attribute, error) {
	var s certSubject
	rest := attrs[:0:0]
	for _, a := range attrs {
		switch v := a.AttributeValue.(type) {
		case kmip.CertificateSubject:
			der, err := parseDN(v.CertificateSubjectDistinguishedName)
			if err != nil {
				return s, nil, fmt.Errorf("%w: %w", errBadSubject, err)
			}
			s.rawSubject, s.altNames = der, v.CertificateSubjectAlternativeName
		case kmip.X_509CertificateSubject:
			s.rawSubject = v.SubjectDistinguishedName
			if len(v.SubjectAlternativeName) > 1 {
				return s, nil, fmt.Errorf("%w: more than one subject alternative name extension", errBadSubject)
			}
			if len(v.SubjectAlternativeName) == 1 {
				s.rawSAN = v.SubjectAlternativeName[0]
			}
		case kmip.CertificateIssuer:
			s.issuerText = v.CertificateIssuerDistinguishedName
		case kmip.X_509CertificateIssuer:
			s.issuerRaw = v.IssuerDistinguishedName
		default:
			rest = append(rest, a)
		}
	}
	return s, rest, nil
}

// checkIssuer accepts issuer attributes only when they name ca.
func (s certSubject) checkIssuer(ca *x509.Certificate) error {
	if s.issuerRaw != nil && !bytes.Equal(s.issuerRaw, ca.RawSubject) {
		return errIssuer
	}
	if s.issuerText == "" {
		return nil
	}
	der, err := parseDN(s.issuerText)
	if err != nil {
		return fmt.Errorf("%w: %w", errIssuer, err)
	}
	var want, got pkix.RDNSequence
	if _, err := asn1.Unmarshal(ca.RawSubject, &want); err != nil {
		return fmt.Errorf("%w: %w", errIssuer, err)
	}
	if _, err := asn1.Unmarshal(der, &got); err != nil || got.String() != want.String() {
		return errIssuer
	}
	return nil
}

// apply fills the subject and names of req from the template, where the
// certificate request gave none.
func (s certSubject) apply(req *pki.CertRequest) {
	if len(req.RawSubject) == 0 {
		req.RawSubject = s.rawSubject
	}
	if len(s.rawSAN) > 0 {
		req.RawSubjectAltName = s.rawSAN
		return
	}
	for _, n := range s.altNames {
		switch {
		case net.ParseIP(n) != nil:
			req.IPAddresses = append(req.IPAddresses, net.ParseIP(n))
		case strings.Contains(n, "://"):
			if u, err := url.Parse(n); err == nil {
				req.URIs = append(req.URIs, u)
			}
		case strings.Contains(n, "@"):
			req.EmailAddresses = append(req.EmailAddresses, n)
		default:
			req.DNSNames = append(req.DNSNames, n)
		}
	}
}

// dnTypes are the attribute types a distinguished name's text may use.
var dnTypes = map[string]asn1.ObjectIdentifier{
	"CN": {2, 5, 4, 3}, "SERIALNUMBER": {2, 5, 4, 5}, "C": {2, 5, 4, 6}, "L": {2, 5, 4, 7},
	"ST": {2, 5, 4, 8}, "STREET": {2, 5, 4, 9}, "O": {2, 5, 4, 10}, "OU": {2, 5, 4, 11},
	"DC": {0, 9, 2342, 19200300, 100, 1, 25}, "UID": {0, 9, 2342, 19200300, 100, 1, 1},
	"EMAILADDRESS": {1, 2, 840, 113549, 1, 9, 1},
}

// parseDN reads a distinguished name written as RFC 4514 text ("CN=Client,
// OU=KMIP,O=ACME,C=US": most specific first, '+' joins a multi-valued RDN,
// '\' escapes) and returns it as a DER Name in certificate order.
func parseDN(text string) ([]byte, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("empty name")
	}
	var seq pkix.RDNSequence
	for _, rdnText := range splitUnescaped(text, ',') {
		var rdn pkix.RelativeDistinguishedNameSET
		for _, atv := range splitUnescaped(rdnText, '+') {
			typ, val, ok := strings.Cut(atv, "=")
			if !ok {
				return nil, fmt.Errorf("%q: not type=value", atv)
			}
			oid, err := dnType(strings.TrimSpace(typ))
			if err != nil {
				return nil, err
			}
			v, err := unescapeDN(strings.TrimSpace(val))
			if err != nil {
				return nil, err
			}
			rdn = append(rdn, pkix.AttributeTypeAndValue{Type: oid, Value: v})
		}
		seq = append(seq, rdn)
	}
	for i, j := 0, len(seq)-1; i < j; i, j = i+1, j-1 {
		seq[i], seq[j] = seq[j], seq[i]
	}
	return asn1.Marshal(seq)
}

// dnType resolves an attribute type name or dotted OID.
func dnType(s string) (asn1.ObjectIdentifier, error) {
	if oid, ok := dnTypes[strings.ToUpper(s)]; ok {
		return oid, nil
	}
	var oid asn1.ObjectIdentifier
	for _, part := range strings.Split(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("unknown attribute type %q", s)
		}
		oid = append(oid, n)
	}
	if len(oid) < 2 {
		return nil, fmt.Errorf("unknown attribute type %q", s)
	}
	return oid, nil
}

// splitUnescaped splits s at each sep not preceded by a backslash escape.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescapeDN undoes RFC 4514 escapes: '\' and a special character, or
// '\' and two hex digits.
func unescapeDN(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", errors.New("trailing escape")
		}
		if i+2 < len(s) {
			if v, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				b.Write(v)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	if b.Len() == 0 {
		return "", errors.New("empty attribute value")
	}
	return b.String(), nil
}

// keyUsage maps a public key's Cryptographic Usage Mask to X.509 key
// usage. Certificate and CRL signing are left out: the CA issues only
// end-entity certificates.
func keyUsage(mask kmip.CryptographicUsageMask) x509.KeyUsage {
	var u x509.KeyUsage
	if mask&(kmip.CryptographicUsageSign|kmip.CryptographicUsageVerify) != 0 {
		u |= x509.KeyUsageDigitalSignature
	}
	if mask&kmip.CryptographicUsageContentCommitment != 0 {
		u |= x509.KeyUsageContentCommitment
	}
	if mask&(kmip.CryptographicUsageWrapKey|kmip.CryptographicUsageUnwrapKey) != 0 {
		u |= x509.KeyUsageKeyEncipherment
	}
	if mask&(kmip.CryptographicUsageEncrypt|kmip.CryptographicUsageDecrypt) != 0 {
		u |= x509.KeyUsageDataEncipherment
	}
	if mask&kmip.CryptographicUsageKeyAgreement != 0 {
		u |= x509.KeyUsageKeyAgreement
	}
	return u
}
