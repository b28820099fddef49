package backup

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/store"
)

// Snapshotter is the store a backup copies: store.Bolt.
type Snapshotter interface {
	Snapshot(fn func(store.Snapshot) error) error
}

// Source is the server a backup is taken from.
type Source struct {
	// DataDir is the server's data directory (DIR/pki, DIR/audit).
	DataDir string
	// Store is the server's open store. A stopped server's store is
	// opened by the caller (store.OpenBolt) and closed afterwards.
	Store Snapshotter
	// MasterKey is the server's master key: it unwraps the keyring and
	// the sealed private keys.
	MasterKey barrier.MasterKey
	// StoreFile and AuditDir name the store file and the audit directory
	// inside DataDir (for the temporary copy and the trail files).
	AuditDir string
}

// Options tunes Write.
type Options struct {
	// KDF are the Argon2id costs; the zero value means DefaultKDF.
	KDF KDFParams
	// Version and Node are recorded in the manifest.
	Version, Node string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Write writes an encrypted backup of src to w under passphrase and
// returns its manifest. The store is copied in one read transaction (to a
// temporary file in the data directory, so that the transaction stays
// short while w is slow), so the backup is consistent while the server
// goes on serving. The audit files are copied after the store, so that
// their chain reaches at least the head the store anchors.
func Write(ctx context.Context, w io.Writer, src Source, passphrase []byte, opts Options) (*Manifest, error) {
	if src.Store == nil || src.MasterKey == nil || src.DataDir == "" {
		return nil, errors.New("backup: a data directory, a store and a master key are required")
	}
	if err := checkPassphrase(passphrase); err != nil {
		return nil, err
	}
	kdf := opts.KDF
	if kdf == (KDFParams{}) {
		kdf = DefaultKDF
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}

	// 1. The store: one read transaction gives the file and its keyring.
	tmp, err := os.CreateTemp(src.DataDir, tempPattern)
	if err != nil {
		return nil, fmt.Errorf("backup: temporary store copy: %w", err)
	}
	defer func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }()
	var wrappedRing []byte
	var created time.Time
	var size int64
	err = src.Store.Snapshot(func(s store.Snapshot) error {
		created = now().UTC()
		v, err := s.Get(store.SysBucket, []byte(barrier.KeyringKey))
		if err != nil {
			return fmt.Errorf("backup: read keyring: %w", err)
		}
		wrappedRing = append([]byte(nil), v...)
		size, err = s.WriteTo(tmp)
		return err
	})
	if err != nil {
		return nil, err
	}
	ring, err := barrier.UnwrapKeyring(src.MasterKey, wrappedRing)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer clear(ring)

	// 2. The sealed private keys, unsealed for the archive only.
	sealed := pki.SealedFiles(src.DataDir)
	keysDER := make([][]byte, len(sealed))
	defer func() {
		for _, k := range keysDER {
			clear(k)
		}
	}()
	for i, f := range sealed {
		keysDER[i], err = barrier.OpenFile(src.MasterKey, f.Path, f.Purpose)
		if err != nil {
			return nil, fmt.Errorf("backup: open %s: %w", f.Name, err)
		}
	}

	// 3. The audit files present now.
	auditDir := src.AuditDir
	if auditDir == "" {
		auditDir = filepath.Join(src.DataDir, "audit")
	}
	auditFiles, err := listFiles(auditDir)
	if err != nil {
		return nil, err
	}

	m := &Manifest{
		Format: ManifestFormat, Created: created, Version: opts.Version, Node: opts.Node,
		MasterKey: src.MasterKey.Kind(), StoreBytes: size,
	}
	sw, err := NewWriter(w, passphrase, kdf)
	if err != nil {
		return nil, err
	}
	aw := &archiveWriter{tw: tar.NewWriter(sw), mtime: created}
	m.Files = append(m.Files, entryKeyring)
	for _, f := range sealed {
		m.Files = append(m.Files, pkiPrefix+plainName(f.Name))
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("backup: encode manifest: %w", err)
	}
	aw.bytes(entryManifest, manifest, 0o600)
	aw.bytes(entryKeyring, ring, 0o600)
	for i, f := range sealed {
		aw.bytes(pkiPrefix+plainName(f.Name), keysDER[i], 0o600)
	}
	paths := pki.PathsFor(src.DataDir)
	for _, f := range pkiPlainFiles {
		if err := aw.file(ctx, pkiPrefix+f.name, filepath.Join(paths.Dir, f.name), f.mode, -1); err != nil {
			if !f.required && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("backup: rewind store copy: %w", err)
	}
	if err := aw.copy(ctx, entryStore, tmp, size, 0o600); err != nil {
		return nil, err
	}
	for _, name := range auditFiles {
		err := aw.file(ctx, auditPrefix+name, filepath.Join(auditDir, name), 0o600, -1)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed by retention meanwhile
		}
		if err != nil {
			return nil, err
		}
	}
	if aw.err != nil {
		return nil, aw.err
	}
	if err := aw.tw.Close(); err != nil {
		return nil, fmt.Errorf("backup: finish archive: %w", err)
	}
	if err := sw.Close(); err != nil {
		return nil, err
	}
	return m, nil
}

// plainName is the archive name of a sealed key file: ca-key.sealed →
// ca-key.der.
func plainName(sealedName string) string {
	return sealedName[:len(sealedName)-len(sealedSuffix)] + plainKeySuffix
}

// listFiles returns the regular files of dir, sorted; a missing dir has
// none.
func listFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", dir, err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && safeBase(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// archiveWriter writes tar entries, keeping the first error.
type archiveWriter struct {
	tw    *tar.Writer
	mtime time.Time
	err   error
}

func (a *archiveWriter) header(name string, size int64, mode fs.FileMode) error {
	if a.err != nil {
		return a.err
	}
	err := a.tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: name, Size: size, Mode: int64(mode), ModTime: a.mtime, Format: tar.FormatPAX,
	})
	if err != nil {
		a.err = fmt.Errorf("backup: archive %s: %w", name, err)
	}
	return a.err
}

// bytes writes an entry holding data.
func (a *archiveWriter) bytes(name string, data []byte, mode fs.FileMode) {
	if a.header(name, int64(len(data)), mode) != nil {
		return
	}
	if _, err := a.tw.Write(data); err != nil {
		a.err = fmt.Errorf("backup: archive %s: %w", name, err)
	}
}

// file writes an entry holding the first size bytes of the file at path
// (size < 0: its size when opened; a file still being appended to is cut
// there, at worst inside a line the audit trail trims on open).
func (a *archiveWriter) file(ctx context.Context, name, path string, mode fs.FileMode, size int64) error {
	if a.err != nil {
		return a.err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	if size < 0 {
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		size = fi.Size()
	}
	return a.copy(ctx, name, f, size, mode)
}

// copy writes an entry of size bytes from r.
func (a *archiveWriter) copy(ctx context.Context, name string, r io.Reader, size int64, mode fs.FileMode) error {
	if a.header(name, size, mode) != nil {
		return a.err
	}
	if _, err := io.CopyN(a.tw, ctxReader{ctx, r}, size); err != nil {
		a.err = fmt.Errorf("backup: archive %s: %w", name, err)
	}
	return a.err
}

// ctxReader stops a long copy once ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
