// Package migrate brings an EKM or ISKLM instance into keywarden: its
// properties file (ISKLMConfig.properties / KeyManagerConfig.properties),
// its keystores (PKCS#12, JKS, JCEKS), its drive table, its key groups and
// its metadata file (KeyUsageEvent XML).
//
// Load reads the sources into a Bundle; NewPlan compares the bundle with
// what a server holds and decides, item by item, what to create, what is
// already there (identical objects are skipped, so a second run changes
// nothing) and what conflicts, resolving conflicts only by the policy the
// caller chose; Plan.Apply writes the plan through the admin API, undoing
// what it wrote when a step fails.
//
// filedrive.table and KeyGroups.xml have no public description, so their
// native forms are not read: the drive table and the key groups are taken
// in the export forms docs/migrating-from-ekm.md documents (CSV for the
// drives, a small XML or CSV for the key groups).
package migrate

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/keywarden/keywarden/internal/eedk"
	"github.com/keywarden/keywarden/internal/keystore"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/usage/seedxml"
)

// ErrSource is matched by every error about a source file's content.
var ErrSource = errors.New("migrate: invalid source")

// Product is the product migrated from; it changes only the words of
// messages.
type Product string

// The products.
const (
	ISKLM Product = "isklm"
	EKM   Product = "ekm"
)

// productName is a product's name in messages.
func productName(p Product) string {
	if p == EKM {
		return "EKM"
	}
	return "ISKLM"
}

// Sources names the files to migrate. Empty fields are taken from the
// properties file when it names them.
type Sources struct {
	Product    Product
	Properties string
	// Keystores are PKCS#12, JKS or JCEKS files; KeystoreType forces their
	// type ("" detects it).
	Keystores        []string
	KeystoreType     keystore.Type
	KeystorePassword string
	// KeyPassword opens private keys protected by another password than
	// the store's (JKS and JCEKS).
	KeyPassword string
	DriveTable  string
	KeyGroups   string
	Metadata    string
	// Group is the device group that receives drive.default.alias1/2 and
	// the drives the table places in no group.
	Group string
}

// Label is a key label to import: a certificate with its private key, or
// a partner's certificate alone.
type Label struct {
	Name    string `json:"name"`
	CertPEM string `json:"cert_pem"`
	// KeyPEM is the PKCS#8 private key, empty for a partner's
	// certificate. It is key material: never log or print it.
	KeyPEM string `json:"key_pem,omitempty"`
	// KeyHash and Bits are computed from CertPEM (Validate recomputes
	// them).
	KeyHash string `json:"-"`
	Bits    int    `json:"-"`
	// From says where the label came from (file and alias), for reports.
	From string `json:"from,omitempty"`
}

// Drive is one row of the drive table export.
type Drive struct {
	Family string `json:"family"`
	Serial string `json:"serial"`
	WWN    string `json:"wwn,omitempty"`
	Alias1 string `json:"alias1,omitempty"`
	Alias2 string `json:"alias2,omitempty"`
	Group  string `json:"group,omitempty"`
	// Line is the row's line in the file.
	Line int `json:"line,omitempty"`
}

// KeyGroup is one LTO key group: a name and a symmetricKeySet alias set.
type KeyGroup struct {
	Name    string `json:"name"`
	Aliases string `json:"aliases"`
	// Expanded is Aliases expanded, in order (Validate recomputes it).
	Expanded []string `json:"-"`
}

// Bundle is everything read from an EKM or ISKLM instance.
type Bundle struct {
	Labels    []Label    `json:"labels,omitempty"`
	Drives    []Drive    `json:"drives,omitempty"`
	KeyGroups []KeyGroup `json:"key_groups,omitempty"`
	// Group is the device group of the defaults; Alias1 and Alias2 are
	// drive.default.alias1/2.
	Group  string `json:"group"`
	Alias1 string `json:"alias1,omitempty"`
	Alias2 string `json:"alias2,omitempty"`
	// Usage are the metadata file's events.
	Usage []seedxml.Event `json:"-"`
	// UsageEvents carries Usage in JSON.
	UsageEvents []UsageEvent `json:"usage,omitempty"`
	// Warnings are things read but not migrated, or migrated with a
	// caveat; each says what happens instead.
	Warnings []string `json:"warnings,omitempty"`
}

// Load reads the sources. The properties file supplies whatever Sources
// leaves empty; every file it names that is missing is a warning, every
// file given explicitly that is missing is an error.
func Load(src Sources) (*Bundle, error) {
	b := &Bundle{Group: src.Group}
	if b.Group == "" {
		b.Group = "ekm"
	}
	var props *Properties
	if src.Properties != "" {
		p, err := ReadProperties(src.Properties)
		if err != nil {
			return nil, err
		}
		props = p
		b.Alias1, b.Alias2 = p.DefaultAlias1, p.DefaultAlias2
		b.Warnings = append(b.Warnings, p.Warnings...)
		fill := func(dst *string, val, what string) {
			if *dst != "" || val == "" {
				return
			}
			if path, ok := p.Locate(val); ok {
				*dst = path
				return
			}
			b.Warnings = append(b.Warnings, fmt.Sprintf("%s %s (named by the %s properties %s) was not found here nor next to "+
				"the properties file: copy it over or name it with a flag; it is not migrated",
				what, val, productName(src.Product), filepath.Base(src.Properties)))
		}
		fill(&src.DriveTable, p.DriveTable, "drive table")
		fill(&src.KeyGroups, p.KeyGroupFile, "key groups file")
		fill(&src.Metadata, p.Metadata, "metadata file")
		if len(src.Keystores) == 0 && p.Keystore != "" {
			var ks string
			fill(&ks, p.Keystore, "keystore")
			if ks != "" {
				src.Keystores = []string{ks}
				if src.KeystoreType == "" && p.KeystoreType != "" {
					if t, err := keystore.ParseType(p.KeystoreType); err == nil {
						src.KeystoreType = t
					}
				}
			}
		}
		if src.KeystorePassword == "" {
			src.KeystorePassword = p.KeystorePassword
		}
	}
	for _, path := range src.Keystores {
		if err := b.readKeystore(path, src); err != nil {
			return nil, err
		}
	}
	if src.DriveTable != "" {
		data, err := os.ReadFile(src.DriveTable)
		if err != nil {
			return nil, fmt.Errorf("migrate: drive table: %w", err)
		}
		if b.Drives, err = ParseDriveTable(data); err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", src.DriveTable, err)
		}
	}
	if src.KeyGroups != "" {
		data, err := os.ReadFile(src.KeyGroups)
		if err != nil {
			return nil, fmt.Errorf("migrate: key groups: %w", err)
		}
		if b.KeyGroups, err = ParseKeyGroups(data); err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", src.KeyGroups, err)
		}
	}
	if props != nil && props.SymmetricKeySet != "" {
		if err := b.addSymmetricKeySet(props.SymmetricKeySet); err != nil {
			return nil, err
		}
	}
	if src.Metadata != "" {
		f, err := os.Open(src.Metadata)
		if err != nil {
			return nil, fmt.Errorf("migrate: metadata: %w", err)
		}
		defer f.Close()
		if b.Usage, err = seedxml.Decode(f); err != nil {
			return nil, fmt.Errorf("migrate: %s: %w: %w", src.Metadata, ErrSource, err)
		}
	}
	if len(b.KeyGroups) > 0 {
		b.Warnings = append(b.Warnings, "key groups are created with new AES-256 keys: EKM's symmetric keys "+
			"(JCEKS secret key entries) are not read, so LTO tapes written by EKM are read on the old server")
	}
	b.restoreCase()
	slices.SortStableFunc(b.Labels, func(x, y Label) int { return strings.Compare(x.Name, y.Name) })
	return b, nil
}

// referencedNames returns the label names the properties refer to, by
// lower-case name, to restore the case keytool lowercased.
func (b *Bundle) referencedNames() map[string]string {
	refs := map[string]string{}
	for _, n := range []string{b.Alias1, b.Alias2} {
		if n != "" {
			refs[strings.ToLower(n)] = n
		}
	}
	return refs
}

// restoreCase renames labels whose alias keytool lowercased to the
// spelling the drive table or the metadata uses, when exactly that one
// spelling is found.
func (b *Bundle) restoreCase() {
	refs := b.referencedNames()
	for _, d := range b.Drives {
		for _, n := range []string{d.Alias1, d.Alias2} {
			if n != "" {
				refs[strings.ToLower(n)] = n
			}
		}
	}
	for _, e := range b.Usage {
		for _, n := range []string{e.KeyAlias1, e.KeyAlias2} {
			if n != "" {
				if _, ok := refs[strings.ToLower(n)]; !ok {
					refs[strings.ToLower(n)] = n
				}
			}
		}
	}
	for i := range b.Labels {
		if want, ok := refs[strings.ToLower(b.Labels[i].Name)]; ok && want != b.Labels[i].Name {
			b.Labels[i].Name = want
		}
	}
}

// readKeystore adds the entries of one keystore file as labels.
func (b *Bundle) readKeystore(path string, src Sources) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("migrate: keystore: %w", err)
	}
	ks, err := keystore.Parse(data, src.KeystoreType, keystore.Options{
		StorePassword: src.KeystorePassword, KeyPassword: src.KeyPassword})
	if err != nil {
		return fmt.Errorf("migrate: keystore %s: %w", path, err)
	}
	for _, e := range ks.Entries {
		lb, err := labelFrom(e, filepath.Base(path))
		if err != nil {
			b.Warnings = append(b.Warnings, fmt.Sprintf("%s: entry %q is not migrated: %v", filepath.Base(path), e.Alias, err))
			continue
		}
		b.Labels = append(b.Labels, lb)
	}
	return nil
}

// labelFrom turns a keystore entry into a label: an RSA key pair (1024 to
// 4096 bits) or a trusted certificate.
func labelFrom(e keystore.Entry, file string) (Label, error) {
	if err := labels.ValidateName(e.Alias); err != nil {
		return Label{}, fmt.Errorf("alias: %w (import it by hand under another name: keywarden label import-cert)", err)
	}
	cert := e.Chain[0]
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return Label{}, errors.New("its public key is not RSA; key labels are RSA")
	}
	if b := pub.N.BitLen(); b < labels.MinBits || b > labels.MaxBits {
		return Label{}, fmt.Errorf("RSA key of %d bits: key labels have %d to %d", b, labels.MinBits, labels.MaxBits)
	}
	hash, err := eedk.KeyHash(pub)
	if err != nil {
		return Label{}, err
	}
	lb := Label{Name: e.Alias, KeyHash: hash, Bits: pub.N.BitLen(), From: file + ":" + e.Alias,
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))}
	if e.PrivateKey != nil {
		der, err := x509.MarshalPKCS8PrivateKey(e.PrivateKey)
		if err != nil {
			return Label{}, fmt.Errorf("private key: %w", err)
		}
		lb.KeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		clear(der)
	}
	return lb, nil
}

// addSymmetricKeySet adds the key group symmetricKeySet describes, unless
// it names a group of the key groups file.
func (b *Bundle) addSymmetricKeySet(set string) error {
	for _, g := range b.KeyGroups {
		if strings.EqualFold(g.Name, set) {
			return nil
		}
	}
	g, err := newKeyGroup(SymmetricKeySetGroup, set)
	if err != nil {
		return fmt.Errorf("migrate: symmetricKeySet=%s: %w", set, err)
	}
	b.KeyGroups = append(b.KeyGroups, g)
	return nil
}

// SymmetricKeySetGroup names the key group made from the symmetricKeySet
// property when it is an alias set rather than a key group's name.
const SymmetricKeySetGroup = "symmetricKeySet"
