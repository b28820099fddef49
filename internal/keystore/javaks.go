package keystore

import (
	"crypto/sha1"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
	"unicode/utf16"
)

// The magic numbers of Sun's keystore files.
const (
	magicJKS   = 0xFEEDFEED
	magicJCEKS = 0xCECECECE
)

// Entry tags.
const (
	tagPrivateKey  = 1
	tagTrustedCert = 2
	tagSecretKey   = 3 // JCEKS only: a Java-serialized SealedObject
)

// integritySalt is mixed into the keystore digest after the password, by
// both JavaKeyStore and JceKeyStore.
const integritySalt = "Mighty Aphrodite"

// parseJava reads a JKS or JCEKS keystore: magic, version (1 or 2), entry
// count, entries, then SHA-1(password as UTF-16BE ‖ "Mighty Aphrodite" ‖
// everything before the digest).
func parseJava(data []byte, typ Type, opts Options) (*Keystore, error) {
	if len(data) < 12+sha1.Size {
		return nil, fmt.Errorf("%w: %d bytes is too short for a %s keystore", ErrFormat, len(data), typ)
	}
	body, digest := data[:len(data)-sha1.Size], data[len(data)-sha1.Size:]
	r := &reader{buf: body}
	magic := r.u32()
	want := uint32(magicJKS)
	if typ == TypeJCEKS {
		want = magicJCEKS
	}
	if magic != want {
		return nil, fmt.Errorf("%w: magic %08X is not a %s keystore's", ErrFormat, magic, typ)
	}
	version := r.u32()
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("%w: %s version %d: want 1 or 2", ErrFormat, typ, version)
	}
	if typ == TypeJCEKS && version != 2 {
		return nil, fmt.Errorf("%w: JCEKS version %d: want 2", ErrFormat, version)
	}
	// The digest is checked before any key is decrypted: a wrong password
	// or a tampered file stops here.
	h := sha1.New()
	h.Write(javaPassword(opts.StorePassword))
	h.Write([]byte(integritySalt))
	h.Write(body)
	if subtle.ConstantTimeCompare(h.Sum(nil), digest) != 1 {
		return nil, fmt.Errorf("%w: the %s integrity digest does not match", ErrPassword, typ)
	}
	n := r.count(maxEntries, "entry count")
	ks := &Keystore{Type: typ}
	for i := 0; i < n && r.err == nil; i++ {
		e, err := readEntry(r, typ, version, opts)
		if err != nil {
			return nil, err
		}
		ks.Entries = append(ks.Entries, e)
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(body) {
		return nil, fmt.Errorf("%w: %d stray bytes after the last entry", ErrFormat, len(body)-r.off)
	}
	return ks, nil
}

// readEntry reads one entry.
func readEntry(r *reader, typ Type, version uint32, opts Options) (Entry, error) {
	tag := r.u32()
	alias := r.utf()
	e := Entry{Alias: alias, Created: time.UnixMilli(int64(r.u64())).UTC()}
	switch tag {
	case tagPrivateKey:
		protected := r.bytesField()
		chainLen := r.count(maxChain, "certificate chain length")
		for j := 0; j < chainLen && r.err == nil; j++ {
			c, err := readCert(r, version, alias)
			if err != nil {
				return e, err
			}
			e.Chain = append(e.Chain, c)
		}
		if r.err != nil {
			return e, r.err
		}
		key, err := recoverKey(protected, typ, opts.KeyPassword)
		if errors.Is(err, ErrPassword) && opts.KeyPassword != opts.StorePassword {
			key, err = recoverKey(protected, typ, opts.StorePassword)
		}
		if err != nil {
			return e, fmt.Errorf("keystore: entry %q: %w", alias, err)
		}
		e.PrivateKey = key
	case tagTrustedCert:
		c, err := readCert(r, version, alias)
		if err != nil {
			return e, err
		}
		e.Chain = []*x509.Certificate{c}
	case tagSecretKey:
		if r.err != nil {
			return e, r.err
		}
		return e, fmt.Errorf("%w: entry %q is a JCEKS secret key (a Java-serialized SealedObject); "+
			"move the key pairs to a keystore without secret keys", ErrUnsupported, alias)
	default:
		if r.err != nil {
			return e, r.err
		}
		return e, fmt.Errorf("%w: entry %q has unknown tag %d", ErrFormat, alias, tag)
	}
	return e, r.err
}

// readCert reads one certificate: in version 2 its type ("X.509"), then
// its length and DER bytes.
func readCert(r *reader, version uint32, alias string) (*x509.Certificate, error) {
	if version == 2 {
		if t := r.utf(); r.err == nil && t != "X.509" {
			return nil, fmt.Errorf("%w: entry %q: certificate type %q", ErrUnsupported, alias, t)
		}
	}
	der := r.bytesField()
	if r.err != nil {
		return nil, r.err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: entry %q: certificate: %v", ErrFormat, alias, err)
	}
	return c, nil
}

// utf16Units returns s as UTF-16 code units, as a Java char[].
func utf16Units(s string) []uint16 { return utf16.Encode([]rune(s)) }
