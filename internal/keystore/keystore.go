// Package keystore reads the Java keystores an EKM or ISKLM instance can
// export its key labels to: JKS, JCEKS and PKCS#12.
//
// JKS and JCEKS follow the published layout of Sun's JavaKeyStore and
// JceKeyStore (a magic number, a version, then the entries, then a SHA-1
// integrity digest keyed by the store password). Their private keys are
// protected by Sun's key protectors: the JKS SHA-1 XOR keystream and the
// JCEKS PBEWithMD5AndTripleDES scheme; both are implemented here on the
// standard library's SHA-1, MD5 and triple DES, only to read keys out of an
// old installation, never to protect anything new. PKCS#12 files are read
// with software.sslmate.com/src/go-pkcs12.
//
// keytool lowercases the aliases of JKS and JCEKS keystores when it writes
// them (the formats are case-insensitive); the aliases are returned as
// stored.
package keystore

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Type is a keystore format.
type Type string

// The formats Parse reads.
const (
	TypeJKS    Type = "jks"
	TypeJCEKS  Type = "jceks"
	TypePKCS12 Type = "pkcs12"
)

// Errors returned by Parse.
var (
	// ErrFormat: the data is not a keystore of the expected type, or is
	// truncated or malformed.
	ErrFormat = errors.New("keystore: malformed keystore")
	// ErrPassword: the integrity digest or a key's check failed, which is
	// what a wrong password looks like (or a tampered file).
	ErrPassword = errors.New("keystore: wrong password or corrupted keystore")
	// ErrUnsupported: the keystore holds something this package does not
	// read (e.g. a JCEKS secret key entry).
	ErrUnsupported = errors.New("keystore: unsupported content")
)

// Limits applied while parsing untrusted files.
const (
	maxEntries    = 100000
	maxChain      = 32
	maxIterations = 5000000 // the JDK's own upper bound for JCEKS
)

// iterationLimit bounds PBEWithMD5AndTripleDES iteration counts; the fuzz
// tests lower it to keep each run quick.
var iterationLimit = maxIterations

// Entry is one alias of a keystore.
type Entry struct {
	// Alias is the entry's name as stored (keytool lowercases JKS and
	// JCEKS aliases).
	Alias string
	// Created is the entry's creation time, when the format records one.
	Created time.Time
	// PrivateKey is the entry's private key; nil for a trusted
	// certificate entry.
	PrivateKey crypto.PrivateKey
	// Chain is the entry's certificate chain, its own certificate first;
	// a trusted certificate entry has exactly one.
	Chain []*x509.Certificate
}

// Trusted reports whether e is a trusted certificate entry (no private
// key).
func (e Entry) Trusted() bool { return e.PrivateKey == nil }

// Keystore is the content of a keystore file.
type Keystore struct {
	Type    Type
	Entries []Entry
}

// Options are the passwords of a keystore.
type Options struct {
	// StorePassword opens the keystore (and checks its integrity).
	StorePassword string
	// KeyPassword protects the private keys; empty means StorePassword,
	// as keytool does by default. A key that KeyPassword does not open is
	// tried with StorePassword, so one call reads a keystore whose keys
	// are under either.
	KeyPassword string
}

// ParseType returns the Type named s ("jks", "jceks", "pkcs12" or "p12",
// any case).
func ParseType(s string) (Type, error) {
	switch strings.ToLower(s) {
	case "jks":
		return TypeJKS, nil
	case "jceks":
		return TypeJCEKS, nil
	case "pkcs12", "p12", "pfx":
		return TypePKCS12, nil
	}
	return "", fmt.Errorf("keystore: type %q: want jks, jceks or pkcs12", s)
}

// Detect returns the type of a keystore from its first bytes, or "" when
// it is none of the three.
func Detect(data []byte) Type {
	if len(data) >= 4 {
		switch binary.BigEndian.Uint32(data) {
		case magicJKS:
			return TypeJKS
		case magicJCEKS:
			return TypeJCEKS
		}
	}
	if len(data) > 0 && data[0] == 0x30 { // a DER SEQUENCE: a PFX
		return TypePKCS12
	}
	return ""
}

// Parse reads a keystore of type typ ("" detects it) opened with opts.
// Every private key is checked against its certificate.
func Parse(data []byte, typ Type, opts Options) (*Keystore, error) {
	if typ == "" {
		if typ = Detect(data); typ == "" {
			return nil, fmt.Errorf("%w: not a JKS, JCEKS or PKCS#12 file", ErrFormat)
		}
	}
	if opts.KeyPassword == "" {
		opts.KeyPassword = opts.StorePassword
	}
	var (
		ks  *Keystore
		err error
	)
	switch typ {
	case TypeJKS, TypeJCEKS:
		ks, err = parseJava(data, typ, opts)
	case TypePKCS12:
		ks, err = parsePKCS12(data, opts.StorePassword)
	default:
		return nil, fmt.Errorf("keystore: type %q: want jks, jceks or pkcs12", typ)
	}
	if err != nil {
		return nil, err
	}
	for _, e := range ks.Entries {
		if err := checkPair(e); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// checkPair verifies that an entry's private key matches its certificate.
func checkPair(e Entry) error {
	if len(e.Chain) == 0 {
		return fmt.Errorf("%w: entry %q has no certificate", ErrFormat, e.Alias)
	}
	if e.PrivateKey == nil {
		return nil
	}
	type publicKeyer interface{ Public() crypto.PublicKey }
	pk, ok := e.PrivateKey.(publicKeyer)
	if !ok {
		return fmt.Errorf("%w: entry %q: private key of type %T", ErrUnsupported, e.Alias, e.PrivateKey)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	eq, ok := pk.Public().(equaler)
	if !ok || !eq.Equal(e.Chain[0].PublicKey) {
		return fmt.Errorf("%w: entry %q: the private key does not match its certificate", ErrFormat, e.Alias)
	}
	return nil
}

// reader reads big-endian fields from a byte slice, remembering the first
// error.
type reader struct {
	buf []byte
	off int
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf)-r.off {
		r.err = fmt.Errorf("%w: truncated at byte %d", ErrFormat, r.off)
		return nil
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// count reads a non-negative 32-bit count no larger than limit.
func (r *reader) count(limit int, what string) int {
	n := r.u32()
	if r.err == nil && n > uint32(limit) {
		r.err = fmt.Errorf("%w: %s %d at byte %d exceeds %d", ErrFormat, what, n, r.off-4, limit)
		return 0
	}
	return int(n)
}

// utf reads a Java DataOutput UTF string: a 16-bit length, then modified
// UTF-8.
func (r *reader) utf() string {
	b := r.take(2)
	if b == nil {
		return ""
	}
	raw := r.take(int(binary.BigEndian.Uint16(b)))
	if raw == nil {
		return ""
	}
	s, err := decodeModifiedUTF8(raw)
	if err != nil && r.err == nil {
		r.err = err
	}
	return s
}

// bytesField reads a 32-bit length and that many bytes.
func (r *reader) bytesField() []byte {
	return r.take(int(r.count(len(r.buf), "length")))
}

// decodeModifiedUTF8 decodes Java's modified UTF-8 (NUL as C0 80,
// supplementary characters as surrogate pairs).
func decodeModifiedUTF8(b []byte) (string, error) {
	units := make([]uint16, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			units = append(units, uint16(c))
			i++
		case c&0xE0 == 0xC0 && i+1 < len(b) && b[i+1]&0xC0 == 0x80:
			units = append(units, uint16(c&0x1F)<<6|uint16(b[i+1]&0x3F))
			i += 2
		case c&0xF0 == 0xE0 && i+2 < len(b) && b[i+1]&0xC0 == 0x80 && b[i+2]&0xC0 == 0x80:
			units = append(units, uint16(c&0x0F)<<12|uint16(b[i+1]&0x3F)<<6|uint16(b[i+2]&0x3F))
			i += 3
		default:
			return "", fmt.Errorf("%w: bad modified UTF-8 in an alias", ErrFormat)
		}
	}
	var sb strings.Builder
	for i := 0; i < len(units); i++ {
		u := units[i]
		if u >= 0xD800 && u < 0xDC00 && i+1 < len(units) && units[i+1] >= 0xDC00 && units[i+1] < 0xE000 {
			sb.WriteRune(rune(u-0xD800)<<10 | rune(units[i+1]-0xDC00) + 0x10000)
			i++
			continue
		}
		sb.WriteRune(rune(u))
	}
	return sb.String(), nil
}

// javaPassword is a password as Java's char[] in big-endian bytes, as
// the JKS digests use it.
func javaPassword(s string) []byte {
	var buf bytes.Buffer
	for _, u := range utf16Units(s) {
		buf.WriteByte(byte(u >> 8))
		buf.WriteByte(byte(u))
	}
	return buf.Bytes()
}
