package conformance

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/ovh/kmip-go"
)

// A certificate that Certify or Re-certify returns is signed by the CA of
// the server under test, not the recording server's: its bytes, and the
// attributes derived from them (serial number, issuer, signature
// algorithm, length, digest), cannot match the vector. The comparator
// accepts such a certificate only when it parses as X.509 and certifies
// the public key the request named; everything else about the object
// (type, subject, names, links, usage mask, key length) is checked
// exactly.

// tagCertificateRequestValue is the KMIP 2.x Certificate Request Value.
const tagCertificateRequestValue = 0x420140

// issuedKeys is what a run learns about certificates: the public keys a
// client registered, and for each certificate the server issued, the
// public key it must certify. Guarded by Provenance.mu.
type issuedKeys struct {
	registered map[string]crypto.PublicKey
	certs      map[string]crypto.PublicKey
}

func (p *Provenance) addRegisteredKey(id string, pub crypto.PublicKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.issued.registered == nil {
		p.issued.registered = map[string]crypto.PublicKey{}
	}
	p.issued.registered[id] = pub
}

func (p *Provenance) addIssued(id string, pub crypto.PublicKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.issued.certs == nil {
		p.issued.certs = map[string]crypto.PublicKey{}
	}
	p.issued.certs[id] = pub
}

// issuedKey returns the public key certificate id must certify, when the
// server issued it.
func (p *Provenance) issuedKey(id string) crypto.PublicKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued.certs[id]
}

func (p *Provenance) registeredKey(id string) crypto.PublicKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued.registered[id]
}

// issuedFor returns the key an exchange's object must certify, when it is
// a certificate the server issued: the one the request names or, for a
// request that relies on the ID placeholder, the one the response names.
func issuedFor(req, resp *Node, prov *Provenance) crypto.PublicKey {
	id, ok := req.Child(kmip.TagUniqueIdentifier).stringValue()
	if !ok {
		id, ok = resp.Child(kmip.TagUniqueIdentifier).stringValue()
	}
	if !ok {
		return nil
	}
	return prov.issuedKey(id)
}

// markIssued learns from a successful exchange: the key of a registered
// public key, and the key a certificate from Certify or Re-certify must
// certify: that of the object the request named (a registered public key,
// or for Re-certify the certificate it replaces), else that of its
// certificate request.
func markIssued(op uint32, req, bi *Node, prov *Provenance) {
	if req == nil || !isSuccess(bi) {
		return
	}
	resp := bi.Child(kmip.TagResponsePayload)
	id, ok := resp.Child(kmip.TagUniqueIdentifier).stringValue()
	if !ok {
		return
	}
	switch op {
	case uint32(kmip.OperationRegister):
		if pub := registeredPublicKey(req); pub != nil {
			prov.addRegisteredKey(id, pub)
		}
	case uint32(kmip.OperationCertify), uint32(kmip.OperationReCertify):
		var pub crypto.PublicKey
		if named, ok := req.Child(kmip.TagUniqueIdentifier).stringValue(); ok {
			pub = prov.registeredKey(named)
			if pub == nil {
				pub = prov.issuedKey(named)
			}
		}
		if pub == nil {
			pub = requestedKey(req)
		}
		if pub != nil {
			prov.addIssued(id, pub)
		}
	}
}

// registeredPublicKey reads the key of a Register request for a public key
// in PKCS#1 or X.509 (SubjectPublicKeyInfo) format.
func registeredPublicKey(req *Node) crypto.PublicKey {
	kb := req.Child(kmip.TagPublicKey).Child(kmip.TagKeyBlock)
	format, _ := kb.Child(kmip.TagKeyFormatType).enumValue()
	material, _ := kb.Child(kmip.TagKeyValue).Child(kmip.TagKeyMaterial).bytesValue()
	var (
		pub crypto.PublicKey
		err error
	)
	switch kmip.KeyFormatType(format) {
	case kmip.KeyFormatTypePKCS_1:
		pub, err = x509.ParsePKCS1PublicKey(material)
	case kmip.KeyFormatTypeX_509:
		pub, err = x509.ParsePKIXPublicKey(material)
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return pub
}

// requestedKey reads the public key of a Certify or Re-certify request's
// PKCS#10 certificate request (DER, or PEM).
func requestedKey(req *Node) crypto.PublicKey {
	data, ok := req.Child(kmip.TagCertificateRequest).bytesValue()
	if !ok {
		data, ok = req.Child(tagCertificateRequestValue).bytesValue()
	}
	if !ok {
		return nil
	}
	if block, _ := pem.Decode(data); block != nil {
		data = block.Bytes
	}
	csr, err := x509.ParseCertificateRequest(data)
	if err != nil {
		return nil
	}
	return csr.PublicKey
}

// checkIssued accepts the value of a server-issued certificate when it
// parses as X.509 and certifies pub.
func (c *comparer) checkIssued(path string, exp, act *Node, pub crypto.PublicKey) {
	der, _ := act.bytesValue()
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		c.add(path, exp, act, exp.Tag, fmt.Sprintf("server-issued certificate does not parse: %v", err))
		return
	}
	k, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !k.Equal(pub) {
		c.add(path, exp, act, exp.Tag, "server-issued certificate does not certify the public key the request named")
	}
}

// withoutTag returns list without the items of tag.
func withoutTag(list []*Node, tag int) []*Node {
	out := make([]*Node, 0, len(list))
	for _, n := range list {
		if n.Tag != tag {
			out = append(out, n)
		}
	}
	return out
}

func (n *Node) bytesValue() ([]byte, bool) {
	if n == nil {
		return nil, false
	}
	b, ok := n.Value.([]byte)
	return b, ok
}
