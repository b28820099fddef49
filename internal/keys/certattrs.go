package keys

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/ovh/kmip-go"
)

// oidSubjectAltName and oidIssuerAltName are the X.509 extensions whose
// values the X.509 Certificate Subject / Issuer attributes carry.
var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidIssuerAltName  = asn1.ObjectIdentifier{2, 5, 29, 18}
)

// sigAlgs maps signature algorithm OIDs to the KMIP Digital Signature
// Algorithm enumeration.
var sigAlgs = map[string]kmip.DigitalSignatureAlgorithm{
	"1.2.840.113549.1.1.2":   kmip.DigitalSignatureAlgorithmMD2WithRSAEncryption,
	"1.2.840.113549.1.1.4":   kmip.DigitalSignatureAlgorithmMD5WithRSAEncryption,
	"1.2.840.113549.1.1.5":   kmip.DigitalSignatureAlgorithmSHA_1WithRSAEncryption,
	"1.2.840.113549.1.1.14":  kmip.DigitalSignatureAlgorithmSHA_224WithRSAEncryption,
	"1.2.840.113549.1.1.11":  kmip.DigitalSignatureAlgorithmSHA_256WithRSAEncryption,
	"1.2.840.113549.1.1.12":  kmip.DigitalSignatureAlgorithmSHA_384WithRSAEncryption,
	"1.2.840.113549.1.1.13":  kmip.DigitalSignatureAlgorithmSHA_512WithRSAEncryption,
	"1.2.840.113549.1.1.10":  kmip.DigitalSignatureAlgorithmRSASSA_PSS,
	"1.2.840.10040.4.3":      kmip.DigitalSignatureAlgorithmDSAWithSHA_1,
	"2.16.840.1.101.3.4.3.1": kmip.DigitalSignatureAlgorithmDSAWithSHA224,
	"2.16.840.1.101.3.4.3.2": kmip.DigitalSignatureAlgorithmDSAWithSHA256,
	"1.2.840.10045.4.1":      kmip.DigitalSignatureAlgorithmECDSAWithSHA_1,
	"1.2.840.10045.4.3.1":    kmip.DigitalSignatureAlgorithmECDSAWithSHA224,
	"1.2.840.10045.4.3.2":    kmip.DigitalSignatureAlgorithmECDSAWithSHA256,
	"1.2.840.10045.4.3.3":    kmip.DigitalSignatureAlgorithmECDSAWithSHA384,
	"1.2.840.10045.4.3.4":    kmip.DigitalSignatureAlgorithmECDSAWithSHA512,
}

// Public key algorithm OIDs whose key length can be read from the
// SubjectPublicKeyInfo.
var (
	oidRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidEC  = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

// certificate is the part of an X.509 certificate the derived attributes
// come from. It is read with encoding/asn1 rather than x509.ParseCertificate
// so that certificates on curves crypto/x509 does not support (secp256k1
// in the OASIS vectors) still get their attributes.
type certificate struct {
	TBS                tbsCertificate
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
}

type tbsCertificate struct {
	Version            int `asn1:"optional,explicit,default:0,tag:0"`
	SerialNumber       *big.Int
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Issuer             asn1.RawValue
	Validity           asn1.RawValue
	Subject            asn1.RawValue
	PublicKey          subjectPublicKeyInfo
	IssuerUniqueID     asn1.BitString   `asn1:"optional,tag:1"`
	SubjectUniqueID    asn1.BitString   `asn1:"optional,tag:2"`
	Extensions         []pkix.Extension `asn1:"optional,explicit,tag:3"`
}

type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// setCertificateAttrs sets the attributes a server derives from an X.509
// certificate (KMIP 1.0 §3.9–3.11 Certificate Identifier / Subject /
// Issuer, KMIP 1.1 §3.12–3.16 X.509 Certificate Identifier / Subject /
// Issuer and Digital Signature Algorithm, and the Cryptographic Length of
// its public key). A value that does not parse as X.509 gets none of them:
// the certificate is stored as the client gave it.
func setCertificateAttrs(o *Object, c *kmip.Certificate) {
	if c.CertificateType != kmip.CertificateTypeX_509 {
		return
	}
	var cert certificate
	if rest, err := asn1.Unmarshal(c.CertificateValue, &cert); err != nil || len(rest) > 0 || cert.TBS.SerialNumber == nil {
		return
	}
	tbs := &cert.TBS
	issuer, subject := rdnString(tbs.Issuer.FullBytes), rdnString(tbs.Subject.FullBytes)
	serialDER, err := asn1.Marshal(tbs.SerialNumber)
	if err != nil {
		return
	}
	o.setAttr(kmip.AttributeNameCertificateIdentifier, kmip.CertificateIdentifier{
		Issuer: issuer, SerialNumber: fmt.Sprintf("%X", tbs.SerialNumber.Bytes())})
	o.setAttr(kmip.AttributeNameCertificateSubject, kmip.CertificateSubject{
		CertificateSubjectDistinguishedName: subject, CertificateSubjectAlternativeName: altNames(c.CertificateValue)})
	o.setAttr(kmip.AttributeNameCertificateIssuer, kmip.CertificateIssuer{CertificateIssuerDistinguishedName: issuer})
	o.setAttr(kmip.AttributeNameX509CertificateIdentifier, kmip.X_509CertificateIdentifier{
		IssuerDistinguishedName: tbs.Issuer.FullBytes, CertificateSerialNumber: serialDER})
	o.setAttr(kmip.AttributeNameX509CertificateSubject, kmip.X_509CertificateSubject{
		SubjectDistinguishedName: tbs.Subject.FullBytes, SubjectAlternativeName: extValues(tbs.Extensions, oidSubjectAltName)})
	o.setAttr(kmip.AttributeNameX509CertificateIssuer, kmip.X_509CertificateIssuer{
		IssuerDistinguishedName: tbs.Issuer.FullBytes, IssuerAlternativeName: extValues(tbs.Extensions, oidIssuerAltName)})
	if alg, ok := sigAlgs[cert.SignatureAlgorithm.Algorithm.String()]; ok {
		o.setAttr(kmip.AttributeNameDigitalSignatureAlgorithm, alg)
	}
	if bits := publicKeyBits(tbs.PublicKey); bits > 0 {
		o.setAttr(kmip.AttributeNameCryptographicLength, bits)
	}
}

// rdnString renders a DER Name as RFC 2253 text (most specific RDN first),
// keeping the order of the certificate's RDNs.
func rdnString(der []byte) string {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdn); err != nil || len(rest) > 0 {
		return ""
	}
	return rdn.String()
}

// altNames lists the subject alternative names as text, when crypto/x509
// can parse the certificate.
func altNames(der []byte) []string {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	out := append([]string(nil), cert.DNSNames...)
	out = append(out, cert.EmailAddresses...)
	for _, ip := range cert.IPAddresses {
		out = append(out, ip.String())
	}
	for _, u := range cert.URIs {
		out = append(out, u.String())
	}
	return out
}

// extValues returns the DER value of the extension oid, if present.
func extValues(exts []pkix.Extension, oid asn1.ObjectIdentifier) [][]byte {
	for _, e := range exts {
		if e.Id.Equal(oid) {
			return [][]byte{e.Value}
		}
	}
	return nil
}

// publicKeyBits is the length of an RSA modulus or of an EC point's
// coordinates, in bits; 0 when unknown.
func publicKeyBits(spki subjectPublicKeyInfo) int32 {
	b := spki.PublicKey.RightAlign()
	switch {
	case spki.Algorithm.Algorithm.Equal(oidRSA):
		k, err := x509.ParsePKCS1PublicKey(b)
		if err != nil {
			return 0
		}
		return int32(k.N.BitLen())
	case spki.Algorithm.Algorithm.Equal(oidEC) && len(b) > 1:
		switch b[0] {
		case 4: // uncompressed: 04 || X || Y
			return coordBits((len(b) - 1) / 2)
		case 2, 3: // compressed: 02/03 || X
			return coordBits(len(b) - 1)
		}
	}
	return 0
}

// coordBits is the field size for an EC coordinate of n bytes (P-521's
// coordinates take 66 bytes).
func coordBits(n int) int32 {
	if n == 66 {
		return 521
	}
	return int32(n * 8)
}
