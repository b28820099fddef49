package barrier

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/keywarden/keywarden/internal/store"
)

// rotationFixture is a data directory with a master key, a store holding a
// sealed record and a sealed file.
type rotationFixture struct {
	dir    string
	st     *store.Bolt
	sealed []byte
	file   SealedFileRef
}

func newRotationFixture(t *testing.T, from MasterKeyOptions) rotationFixture {
	t.Helper()
	dir := t.TempDir()
	mk, err := CreateMasterKeyWith(dir, from)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	defer closeMasterKey(mk)
	st, err := store.OpenBolt(filepath.Join(dir, "keywarden.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := newBarrier(t, st, mk, Options{})
	sealed, err := b.Seal("objects", []byte("k1"), []byte("secret value"))
	if err != nil {
		t.Fatal(err)
	}
	f := SealedFileRef{Path: filepath.Join(dir, "ca-key.sealed"), Purpose: "test ca key"}
	if err := SealFile(mk, f.Path, f.Purpose, []byte("private key")); err != nil {
		t.Fatal(err)
	}
	return rotationFixture{dir: dir, st: st, sealed: sealed, file: f}
}

// check opens the directory with opts and reads the record and the file.
func (f rotationFixture) check(t *testing.T, opts MasterKeyOptions, wantKind string) {
	t.Helper()
	mk, err := OpenMasterKeyWith(f.dir, opts)
	if err != nil {
		t.Fatalf("open the new master key: %v", err)
	}
	defer closeMasterKey(mk)
	if mk.Kind() != wantKind {
		t.Errorf("kind %q; want %q", mk.Kind(), wantKind)
	}
	b := newBarrier(t, f.st, mk, Options{})
	if pt, err := b.Open("objects", []byte("k1"), f.sealed); err != nil || string(pt) != "secret value" {
		t.Errorf("record after rotation = %q, %v", pt, err)
	}
	if pt, err := OpenFile(mk, f.file.Path, f.file.Purpose); err != nil || string(pt) != "private key" {
		t.Errorf("sealed file after rotation = %q, %v", pt, err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, MasterKeyRotationDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("rotation directory left behind: %v", err)
	}
}

func TestRotateMasterKeyFileKinds(t *testing.T) {
	pass1, pass2 := writePassphrase(t, "first passphrase"), writePassphrase(t, "second passphrase")
	tests := []struct {
		name     string
		from, to MasterKeyOptions
		reopen   MasterKeyOptions
		kind     string
	}{
		{"file to passphrase", MasterKeyOptions{}, MasterKeyOptions{Seal: KindPassphrase, PassphraseFile: pass1},
			MasterKeyOptions{PassphraseFile: pass1}, KindPassphrase},
		{"passphrase to passphrase", MasterKeyOptions{PassphraseFile: pass1}, MasterKeyOptions{Seal: KindPassphrase, PassphraseFile: pass2},
			MasterKeyOptions{PassphraseFile: pass2}, KindPassphrase},
		{"passphrase to file", MasterKeyOptions{PassphraseFile: pass1}, MasterKeyOptions{Seal: KindFile},
			MasterKeyOptions{}, KindFile},
		{"file to file", MasterKeyOptions{}, MasterKeyOptions{Seal: KindFile}, MasterKeyOptions{}, KindFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newRotationFixture(t, tc.from)
			oldContent, err := os.ReadFile(filepath.Join(f.dir, MasterKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			mk, info, err := RotateMasterKey(context.Background(), f.dir, f.st, []SealedFileRef{f.file}, tc.from, tc.to, nil)
			if err != nil {
				t.Fatalf("rotate: %v", err)
			}
			closeMasterKey(mk)
			if info.New != tc.kind {
				t.Errorf("info %+v; want new kind %s", info, tc.kind)
			}
			f.check(t, tc.reopen, tc.kind)
			// The old key no longer opens the keyring.
			oldDir := t.TempDir()
			if err := os.WriteFile(filepath.Join(oldDir, MasterKeyFile), oldContent, 0o600); err != nil {
				t.Fatal(err)
			}
			old, err := OpenMasterKeyWith(oldDir, tc.from)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := New(context.Background(), f.st, old, Options{}); !errors.Is(err, ErrTampered) {
				t.Errorf("old master key opens the keyring after rotation: %v", err)
			}
		})
	}
}

func TestRotateMasterKeyInterrupted(t *testing.T) {
	pass := writePassphrase(t, "new passphrase")
	to := MasterKeyOptions{Seal: KindPassphrase, PassphraseFile: pass}
	f := newRotationFixture(t, MasterKeyOptions{})
	// Simulate a crash after the keyring was re-wrapped: the new key is in
	// the rotation directory, the old one still in place.
	stage := filepath.Join(f.dir, MasterKeyRotationDir)
	next, err := CreateMasterKeyWith(stage, to)
	if err != nil {
		t.Fatal(err)
	}
	old, err := OpenMasterKeyWith(f.dir, MasterKeyOptions{})
	if err == nil || !errors.Is(err, ErrMasterKeyRotationPending) {
		t.Fatalf("open during an unfinished rotation: %v, %v; want ErrMasterKeyRotationPending", old, err)
	}
	old, err = openMasterKey(f.dir, MasterKeyOptions{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := rewrapStoredKeyring(context.Background(), f.st, old, next); err != nil {
		t.Fatal(err)
	}
	mk, info, err := RotateMasterKey(context.Background(), f.dir, f.st, []SealedFileRef{f.file}, MasterKeyOptions{}, to, nil)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	closeMasterKey(mk)
	if !info.Resumed {
		t.Errorf("info %+v; want resumed", info)
	}
	f.check(t, MasterKeyOptions{PassphraseFile: pass}, KindPassphrase)
}
