package migrate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/magiconair/properties"
)

// Properties are the few keys of an ISKLMConfig.properties (or EKM's
// KeyManagerConfig.properties) that migration reads. Serving options
// (listeners, TLS, audit) are the configuration's business: keywarden
// serve --config reads the same file.
type Properties struct {
	// Dir is the properties file's directory: files it names are looked
	// for there too, by base name.
	Dir string
	// Keystore, KeystoreType and KeystorePassword are config.keystore.*.
	Keystore, KeystoreType, KeystorePassword string
	// DriveTable is config.drivetable.file.url, without its FILE: scheme.
	DriveTable string
	// KeyGroupFile is config.keygroup.xml.file.
	KeyGroupFile string
	// Metadata is Audit.metadata.file.name.
	Metadata string
	// DefaultAlias1 and DefaultAlias2 are drive.default.alias1/2.
	DefaultAlias1, DefaultAlias2 string
	// SymmetricKeySet is symmetricKeySet: a key group name or an alias set.
	SymmetricKeySet string
	// Warnings say what of the above cannot be migrated as it is.
	Warnings []string
}

// ReadProperties reads the migration's keys from a Java properties file
// (ISO 8859-1, with the format's escapes such as FILE\:/path).
func ReadProperties(path string) (*Properties, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("migrate: properties: %w", err)
	}
	p, err := ParseProperties(data)
	if err != nil {
		return nil, fmt.Errorf("migrate: %s: %w", path, err)
	}
	p.Dir = filepath.Dir(path)
	return p, nil
}

// ParseProperties reads the migration's keys from the bytes of a Java
// properties file.
func ParseProperties(data []byte) (*Properties, error) {
	l := &properties.Loader{Encoding: properties.ISO_8859_1, DisableExpansion: true}
	pp, err := l.LoadBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%w: properties: %v", ErrSource, err)
	}
	get := func(k string) string { return strings.TrimSpace(pp.GetString(k, "")) }
	p := &Properties{
		Keystore: fileURL(get("config.keystore.file")), KeystoreType: get("config.keystore.type"),
		KeystorePassword: pp.GetString("config.keystore.password", ""),
		DriveTable:       fileURL(get("config.drivetable.file.url")),
		KeyGroupFile:     fileURL(get("config.keygroup.xml.file")),
		Metadata:         fileURL(get("Audit.metadata.file.name")),
		DefaultAlias1:    get("drive.default.alias1"), DefaultAlias2: get("drive.default.alias2"),
		SymmetricKeySet: get("symmetricKeySet"),
	}
	if strings.HasPrefix(strings.ToLower(p.Keystore), "safkeyring:") {
		p.Warnings = append(p.Warnings, fmt.Sprintf("config.keystore.file=%s is a RACF key ring on z/OS: it cannot be read here. "+
			"Export its certificates and private keys to PKCS#12 (or JKS/JCEKS) and pass them with --keystore; "+
			"keys protected by ICSF (PKDS key labels) cannot be exported at all — read their tapes on the old server "+
			"or rekey them to keywarden labels", p.Keystore))
		p.Keystore = ""
	}
	switch strings.ToUpper(p.KeystoreType) {
	case "", "JKS", "JCEKS", "PKCS12":
	default:
		p.Warnings = append(p.Warnings, fmt.Sprintf("config.keystore.type=%s is not a file keystore keywarden reads "+
			"(JKS, JCEKS, PKCS12); export the labels to one of those and pass --keystore", p.KeystoreType))
		p.KeystoreType = ""
	}
	return p, nil
}

// fileURL strips the FILE: (or file://) scheme of a path property.
func fileURL(v string) string {
	lower := strings.ToLower(v)
	switch {
	case strings.HasPrefix(lower, "file://"):
		return v[len("file://"):]
	case strings.HasPrefix(lower, "file:"):
		return v[len("file:"):]
	}
	return v
}

// Locate finds a file the properties name: at its own path, else next to
// the properties file under its base name (the usual case: the files were
// copied off the old server together).
func (p *Properties) Locate(path string) (string, bool) {
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		return path, true
	}
	if p.Dir == "" {
		return "", false
	}
	local := filepath.Join(p.Dir, filepath.Base(filepath.FromSlash(path)))
	if st, err := os.Stat(local); err == nil && st.Mode().IsRegular() {
		return local, true
	}
	return "", false
}
