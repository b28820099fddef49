package keystore

import (
	"crypto/x509"
	"errors"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"
)

// parsePKCS12 reads a PKCS#12 file: each private key with the certificate
// of the same localKeyId is an entry named by its friendlyName; other
// certificates are trusted certificate entries. Files whose bags carry
// attributes go-pkcs12 does not convert (keytool marks trusted
// certificates with a private attribute) fall back to one key entry and its
// chain, named by the certificate's common name.
func parsePKCS12(data []byte, password string) (*Keystore, error) {
	// ToPEM is deprecated because its "PRIVATE KEY" blocks hold PKCS#1 or
	// SEC 1 keys, not PKCS#8; it is still the only go-pkcs12 call that
	// returns every bag with its friendlyName and localKeyId, which the
	// aliases need. The blocks never leave this function and are parsed
	// as what they are.
	//lint:ignore SA1019 see above
	blocks, err := pkcs12.ToPEM(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, fmt.Errorf("%w: PKCS#12: %v", ErrPassword, err)
		}
		return fallbackPKCS12(data, password)
	}
	ks := &Keystore{Type: TypePKCS12}
	type pair struct {
		alias  string
		keyDER []byte
		certs  []*x509.Certificate
	}
	byID := map[string]*pair{}
	var order []string
	var trusted []Entry
	for _, b := range blocks {
		id, name := b.Headers["localKeyId"], b.Headers["friendlyName"]
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: PKCS#12 certificate: %v", ErrFormat, err)
			}
			if id == "" {
				if name == "" {
					name = c.Subject.CommonName
				}
				trusted = append(trusted, Entry{Alias: name, Chain: []*x509.Certificate{c}})
				continue
			}
			p := byID[id]
			if p == nil {
				p = &pair{}
				byID[id] = p
				order = append(order, id)
			}
			p.certs = append(p.certs, c)
			if p.alias == "" {
				p.alias = name
			}
		case "PRIVATE KEY":
			if id == "" {
				return nil, fmt.Errorf("%w: PKCS#12 private key without a localKeyId", ErrUnsupported)
			}
			p := byID[id]
			if p == nil {
				p = &pair{}
				byID[id] = p
				order = append(order, id)
			}
			p.keyDER = b.Bytes
			if name != "" {
				p.alias = name
			}
		}
	}
	for _, id := range order {
		p := byID[id]
		if len(p.certs) == 0 {
			return nil, fmt.Errorf("%w: PKCS#12 key %q has no certificate", ErrFormat, p.alias)
		}
		e := Entry{Alias: p.alias, Chain: p.certs}
		if e.Alias == "" {
			e.Alias = p.certs[0].Subject.CommonName
		}
		if p.keyDER == nil {
			trusted = append(trusted, e)
			continue
		}
		key, err := x509.ParsePKCS1PrivateKey(p.keyDER)
		if err != nil {
			k, err2 := x509.ParseECPrivateKey(p.keyDER)
			if err2 != nil {
				return nil, fmt.Errorf("%w: PKCS#12 key %q: %v", ErrFormat, e.Alias, err)
			}
			e.PrivateKey = k
		} else {
			e.PrivateKey = key
		}
		ks.Entries = append(ks.Entries, e)
	}
	ks.Entries = append(ks.Entries, trusted...)
	return ks, nil
}

// fallbackPKCS12 reads a file holding one key entry and its chain, named
// by the certificate's common name. Certificates that do not chain up
// from the key's (keytool's trusted certificate entries, which carry a
// Java-private attribute ToPEM refuses) cannot be told apart from the
// chain here, so such a file is refused rather than misread.
func fallbackPKCS12(data []byte, password string) (*Keystore, error) {
	key, cert, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, fmt.Errorf("%w: PKCS#12: %v", ErrPassword, err)
		}
		return nil, fmt.Errorf("%w: PKCS#12: %v (a file with several key entries, or key entries and trusted "+
			"certificates from keytool, is read as JKS: keytool -importkeystore -deststoretype jks)", ErrUnsupported, err)
	}
	prev := cert
	for _, ca := range cas {
		if prev.CheckSignatureFrom(ca) != nil {
			return nil, fmt.Errorf("%w: PKCS#12: certificate %q is not in the chain of %q: trusted certificate "+
				"entries cannot be told apart here; convert the file to JKS (keytool -importkeystore -deststoretype jks)",
				ErrUnsupported, ca.Subject.CommonName, cert.Subject.CommonName)
		}
		prev = ca
	}
	e := Entry{Alias: cert.Subject.CommonName, PrivateKey: key, Chain: append([]*x509.Certificate{cert}, cas...)}
	return &Keystore{Type: TypePKCS12, Entries: []Entry{e}}, nil
}
