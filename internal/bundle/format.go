// Package bundle moves chosen key labels (certificates and private keys)
// and LTO key groups from one keywarden server to another — the seed's
// backup key server, built in one command instead of three slides of
// certificate exports.
//
// A bundle is encrypted either to the receiving server's certificate
// (DIR/pki/server.pem: HPKE, RFC 9180, base mode, DHKEM over the
// certificate's curve, HKDF-SHA256, AES-256-GCM — crypto/hpke; only that
// server, whose private key is sealed in DIR/pki/server-key.sealed, opens
// it) or under a passphrase (Argon2id and AES-256-GCM in the STREAM
// construction of internal/backup). Either way the whole content is
// authenticated. Import checks every label and key group against what the
// server holds before writing anything: a name already used by another key
// is a conflict, refused unless skipped or (labels only) renamed.
package bundle

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/hpke"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/keywarden/keywarden/internal/backup"
)

// Magics of the two kinds of bundle file.
const (
	// MagicPassphrase starts a passphrase bundle (an internal/backup
	// stream with this magic).
	MagicPassphrase = "KWBUNDLP"
	// MagicRecipient starts a bundle encrypted to a server certificate.
	MagicRecipient = "KWBUNDLR"
)

// ContentsFormat is the version of Contents this keywarden writes.
const ContentsFormat = 1

// MaxSize bounds a bundle file.
const MaxSize = 32 << 20

// hpkeInfo binds an HPKE bundle to its purpose.
const hpkeInfo = "keywarden label bundle v1"

// recipientVersion is the version byte of a recipient bundle.
const recipientVersion = 1

// Errors of Open.
var (
	// ErrNotBundle: the data is not a keywarden bundle.
	ErrNotBundle = errors.New("bundle: not a keywarden bundle")
	// ErrOtherRecipient: the bundle is encrypted to another certificate.
	ErrOtherRecipient = errors.New("bundle: encrypted to another server's certificate")
	// ErrNeedPassphrase: a passphrase bundle was given without one.
	ErrNeedPassphrase = errors.New("bundle: this bundle is protected by a passphrase")
	// ErrDamaged: the bundle fails authentication or does not parse.
	ErrDamaged = errors.New("bundle: damaged or tampered with")
)

// Label is a key label in a bundle.
type Label struct {
	Name     string `json:"name"`
	OAEPHash string `json:"oaep_hash,omitempty"`
	CertPEM  string `json:"cert_pem"`
	// KeyPEM is the PKCS#8 private key; empty for a label that has none
	// (a partner's certificate).
	KeyPEM string `json:"key_pem,omitempty"`
}

// Key is one key of a key group in a bundle.
type Key struct {
	Alias string `json:"alias"`
	// Material is the AES key; nil for a key whose material is gone.
	Material []byte `json:"material,omitempty"`
	// State is the key's KMIP state when exported ("Active", ...).
	State string `json:"state"`
}

// KeyGroup is an LTO key group in a bundle.
type KeyGroup struct {
	Name string `json:"name"`
	Keys []Key  `json:"keys"`
}

// Contents is what a bundle carries.
type Contents struct {
	Format    int        `json:"format"`
	Created   time.Time  `json:"created"`
	Source    string     `json:"source,omitempty"`
	Labels    []Label    `json:"labels"`
	KeyGroups []KeyGroup `json:"keygroups"`
}

// Wipe clears the key material of c.
func (c *Contents) Wipe() {
	for i := range c.Labels {
		c.Labels[i].KeyPEM = ""
	}
	for _, g := range c.KeyGroups {
		for _, k := range g.Keys {
			clear(k.Material)
		}
	}
}

// SealPassphrase encrypts c under passphrase.
func SealPassphrase(c *Contents, passphrase []byte, kdf backup.KDFParams) ([]byte, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("bundle: encode: %w", err)
	}
	defer clear(plain)
	if kdf == (backup.KDFParams{}) {
		kdf = backup.DefaultKDF
	}
	var out bytes.Buffer
	w, err := backup.NewFileWriter(&out, MagicPassphrase, passphrase, kdf)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return out.Bytes(), nil
}

// Recipient layout: magic | version 1 | SHA-256 of the recipient
// certificate (32) | enc length u16 | enc | HPKE ciphertext, whose
// additional data is everything before it.

// SealRecipient encrypts c to the holder of cert's private key, an ECDSA
// key (a keywarden server certificate).
func SealRecipient(c *Contents, cert *x509.Certificate) ([]byte, error) {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("bundle: the recipient certificate must hold an EC key (a keywarden server certificate), not %T", cert.PublicKey)
	}
	epub, err := pub.ECDH()
	if err != nil {
		return nil, fmt.Errorf("bundle: recipient key: %w", err)
	}
	hpub, err := hpke.NewDHKEMPublicKey(epub)
	if err != nil {
		return nil, fmt.Errorf("bundle: recipient key: %w", err)
	}
	enc, sender, err := hpke.NewSender(hpub, hpke.HKDFSHA256(), hpke.AES256GCM(), []byte(hpkeInfo))
	if err != nil {
		return nil, fmt.Errorf("bundle: hpke: %w", err)
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("bundle: encode: %w", err)
	}
	defer clear(plain)
	fp := sha256.Sum256(cert.Raw)
	head := []byte(MagicRecipient)
	head = append(head, recipientVersion)
	head = append(head, fp[:]...)
	head = binary.BigEndian.AppendUint16(head, uint16(len(enc)))
	head = append(head, enc...)
	ct, err := sender.Seal(head, plain)
	if err != nil {
		return nil, fmt.Errorf("bundle: hpke seal: %w", err)
	}
	return append(head, ct...), nil
}

// Keys opens bundles: Passphrase for a passphrase bundle, the server's
// certificate and private key for a recipient bundle.
type Keys struct {
	Passphrase []byte
	Cert       *x509.Certificate
	PrivateKey *ecdsa.PrivateKey
}

// IsRecipient reports whether data is a bundle encrypted to a certificate
// (false for a passphrase bundle or anything else).
func IsRecipient(data []byte) bool {
	return bytes.HasPrefix(data, []byte(MagicRecipient))
}

// Open decrypts and authenticates a bundle and parses its contents.
func Open(data []byte, k Keys) (*Contents, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("bundle: %d bytes: more than %d", len(data), MaxSize)
	}
	var plain []byte
	var err error
	switch {
	case bytes.HasPrefix(data, []byte(MagicPassphrase)):
		plain, err = openPassphrase(data, k.Passphrase)
	case IsRecipient(data):
		plain, err = openRecipient(data, k)
	default:
		return nil, ErrNotBundle
	}
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	var c Contents
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, fmt.Errorf("%w: contents: %w", ErrDamaged, err)
	}
	if c.Format != ContentsFormat {
		return nil, fmt.Errorf("bundle: contents format %d; this keywarden reads format %d", c.Format, ContentsFormat)
	}
	return &c, nil
}

func openPassphrase(data, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, ErrNeedPassphrase
	}
	r, err := backup.NewFileReader(bytes.NewReader(data), MagicPassphrase, passphrase)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return plain, nil
}

func openRecipient(data []byte, k Keys) ([]byte, error) {
	if k.Cert == nil || k.PrivateKey == nil {
		return nil, errors.New("bundle: this bundle is encrypted to a server certificate: import it on that server")
	}
	const fixed = len(MagicRecipient) + 1 + sha256.Size + 2
	if len(data) < fixed {
		return nil, fmt.Errorf("%w: too short", ErrDamaged)
	}
	if data[len(MagicRecipient)] != recipientVersion {
		return nil, fmt.Errorf("bundle: recipient bundle version %d; this keywarden reads version %d", data[len(MagicRecipient)], recipientVersion)
	}
	fp := data[len(MagicRecipient)+1 : len(MagicRecipient)+1+sha256.Size]
	mine := sha256.Sum256(k.Cert.Raw)
	if !bytes.Equal(fp, mine[:]) {
		return nil, fmt.Errorf("%w: it is for the certificate with SHA-256 %s; this server's is %s",
			ErrOtherRecipient, hex.EncodeToString(fp), hex.EncodeToString(mine[:]))
	}
	encLen := int(binary.BigEndian.Uint16(data[fixed-2 : fixed]))
	if len(data) < fixed+encLen {
		return nil, fmt.Errorf("%w: too short", ErrDamaged)
	}
	head, ct := data[:fixed+encLen], data[fixed+encLen:]
	epriv, err := k.PrivateKey.ECDH()
	if err != nil {
		return nil, fmt.Errorf("bundle: server key: %w", err)
	}
	hpriv, err := hpke.NewDHKEMPrivateKey(epriv)
	if err != nil {
		return nil, fmt.Errorf("bundle: server key: %w", err)
	}
	r, err := hpke.NewRecipient(head[fixed:], hpriv, hpke.HKDFSHA256(), hpke.AES256GCM(), []byte(hpkeInfo))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	plain, err := r.Open(head, ct)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrDamaged)
	}
	return plain, nil
}

// newContents returns empty contents stamped now.
func newContents(source string, now time.Time) *Contents {
	return &Contents{Format: ContentsFormat, Created: now.UTC(), Source: source, Labels: []Label{}, KeyGroups: []KeyGroup{}}
}
