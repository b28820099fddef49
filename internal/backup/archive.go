package backup

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Entries of the archive inside a backup, in the order they are written.
const (
	entryManifest  = "manifest.json"
	entryKeyring   = "keyring" // the keyring plaintext (barrier.UnwrapKeyring)
	entryStore     = "keywarden.db"
	pkiPrefix      = "pki/"    // certificates and plaintext private keys
	auditPrefix    = "audit/"  // the audit trail files
	sealedSuffix   = ".sealed" // DIR/pki name of a sealed key
	plainKeySuffix = ".der"    // archive name of the same key, unsealed
	// ManifestFormat is the archive layout this keywarden writes.
	ManifestFormat = 1
	// maxSmallEntry bounds every entry but the store and audit files.
	maxSmallEntry = 1 << 20
)

// pkiPlainFiles are the DIR/pki files copied as they are; the optional
// ones may be missing (an administrator may have moved admin-key.pem away).
var pkiPlainFiles = []struct {
	name     string
	mode     fs.FileMode
	required bool
}{
	{"ca.pem", 0o644, true},
	{"server.pem", 0o644, true},
	{"admin.pem", 0o644, false},
	{"admin-key.pem", 0o600, false},
}

// Manifest describes a backup; it is the archive's first entry.
type Manifest struct {
	// Format is the archive layout (ManifestFormat).
	Format int `json:"format"`
	// Created is when the store snapshot was taken.
	Created time.Time `json:"created"`
	// Version is the keywarden version that wrote the backup.
	Version string `json:"version,omitempty"`
	// Node names the server the backup was taken from.
	Node string `json:"node,omitempty"`
	// MasterKey is the kind of master key the server used.
	MasterKey string `json:"master_key"`
	// StoreBytes is the size of the store copy.
	StoreBytes int64 `json:"store_bytes"`
	// Files lists the archive's entries after the manifest.
	Files []string `json:"files"`
}

// entry is one archive entry as read back.
type entry struct {
	name string
	size int64
	body io.Reader
}

// validEntry reports whether name may appear in an archive, and whether it
// is large (the store and audit files have no size bound).
func validEntry(name string) (ok, large bool) {
	switch {
	case name == entryKeyring:
		return true, false
	case name == entryStore:
		return true, true
	case strings.HasPrefix(name, auditPrefix):
		base := strings.TrimPrefix(name, auditPrefix)
		return safeBase(base), true
	case strings.HasPrefix(name, pkiPrefix):
		base := strings.TrimPrefix(name, pkiPrefix)
		for _, f := range pkiPlainFiles {
			if base == f.name {
				return true, false
			}
		}
		return base == "ca-key"+plainKeySuffix || base == "server-key"+plainKeySuffix, false
	}
	return false, false
}

// safeBase accepts a plain file name: no separators, no dot names.
func safeBase(base string) bool {
	return base != "" && base != "." && base != ".." && !strings.ContainsAny(base, "/\\\x00") &&
		path.Clean(base) == base
}

// requiredEntries must be in every archive.
var requiredEntries = []string{
	entryKeyring, entryStore, pkiPrefix + "ca.pem", pkiPrefix + "server.pem",
	pkiPrefix + "ca-key" + plainKeySuffix, pkiPrefix + "server-key" + plainKeySuffix,
}

// readArchive decrypts the backup in r and walks its archive: it checks the
// manifest, every entry name, type and size, refuses duplicates and missing
// entries, and calls fn (when not nil) with each entry after the manifest.
// It reads the stream to its authenticated end, so a nil error means every
// chunk was verified.
func readArchive(r io.Reader, passphrase []byte, fn func(e entry) error) (*Manifest, error) {
	sr, err := NewReader(r, passphrase)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(sr)
	hdr, err := tr.Next()
	if err != nil {
		return nil, archiveError(err, "read manifest")
	}
	if hdr.Name != entryManifest || hdr.Typeflag != tar.TypeReg || hdr.Size > maxSmallEntry {
		return nil, fmt.Errorf("%w: the archive does not start with its manifest", ErrDamaged)
	}
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(tr, hdr.Size)).Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %w", ErrDamaged, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("backup: archive format %d; this keywarden reads format %d", m.Format, ManifestFormat)
	}
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, archiveError(err, "read entry")
		}
		ok, large := validEntry(hdr.Name)
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: unexpected entry %q", ErrDamaged, hdr.Name)
		case hdr.Typeflag != tar.TypeReg:
			return nil, fmt.Errorf("%w: entry %q is not a regular file", ErrDamaged, hdr.Name)
		case seen[hdr.Name]:
			return nil, fmt.Errorf("%w: entry %q appears twice", ErrDamaged, hdr.Name)
		case !large && hdr.Size > maxSmallEntry:
			return nil, fmt.Errorf("%w: entry %q is %d bytes", ErrDamaged, hdr.Name, hdr.Size)
		}
		seen[hdr.Name] = true
		if fn != nil {
			if err := fn(entry{name: hdr.Name, size: hdr.Size, body: tr}); err != nil {
				return nil, archiveError(err, "entry "+hdr.Name)
			}
		}
		// Whatever fn left unread is read (and authenticated) by Next.
	}
	for _, name := range requiredEntries {
		if !seen[name] {
			return nil, fmt.Errorf("%w: entry %q is missing", ErrDamaged, name)
		}
	}
	// The tar end marker may be followed by padding: read the stream to its
	// authenticated last chunk.
	if _, err := io.Copy(io.Discard, sr); err != nil {
		return nil, archiveError(err, "read to the end")
	}
	return &m, nil
}

// archiveError keeps the stream's errors (which say what is wrong with the
// file) and calls anything else the tar layer finds a damaged archive.
func archiveError(err error, what string) error {
	for _, known := range []error{ErrDamaged, ErrTruncated, ErrWrongPassphrase, ErrNotBackup} {
		if errors.Is(err, known) {
			return err
		}
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return fmt.Errorf("backup: %s: %w", what, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, tar.ErrHeader) || errors.Is(err, tar.ErrFieldTooLong) {
		return fmt.Errorf("%w: %s: %w", ErrDamaged, what, err)
	}
	return fmt.Errorf("backup: %s: %w", what, err)
}

// Verify reads the whole backup in r with passphrase, authenticating every
// chunk and checking the archive, and returns its manifest. It writes
// nothing.
func Verify(r io.Reader, passphrase []byte) (*Manifest, error) {
	return readArchive(r, passphrase, nil)
}
