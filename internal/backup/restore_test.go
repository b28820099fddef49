package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/store"
)

// server is a data directory built as init builds one, kept open as a
// running server keeps it.
type server struct {
	dir string
	mk  barrier.MasterKey
	st  *store.Bolt
	b   *barrier.Barrier
}

func newServer(t *testing.T) *server {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	mk, err := barrier.CreateMasterKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenBolt(filepath.Join(dir, entryStore), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	b, err := barrier.New(context.Background(), st, mk, barrier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.Init(dir, mk, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "audit"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "audit", "audit.log"), []byte("{\"seq\":1}\n{\"seq\":2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &server{dir: dir, mk: mk, st: st, b: b}
}

// put seals and stores a secret.
func (s *server) put(t *testing.T, key, secret string) {
	t.Helper()
	sealed, err := s.b.Seal("keys", []byte(key), []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	var cmd store.Command
	cmd.Put("keys", []byte(key), sealed)
	if err := s.st.Apply(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
}

// backupFile writes a backup of s to a file and returns its path.
func (s *server) backupFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "backup.kwbackup")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := Write(context.Background(), f, Source{DataDir: s.dir, Store: s.st, MasterKey: s.mk}, testPass, Options{KDF: testKDF, Node: "n1"})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if m.Node != "n1" || m.MasterKey != barrier.KindFile || m.StoreBytes == 0 {
		t.Errorf("manifest %+v", m)
	}
	leftovers, _ := filepath.Glob(filepath.Join(s.dir, ".backup-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary store copies left behind: %v", leftovers)
	}
	return path
}

func TestRestoreServesTheSameSecrets(t *testing.T) {
	src := newServer(t)
	src.put(t, "k1", "secret one")
	src.put(t, "k2", "secret two")
	file := src.backupFile(t)
	src.put(t, "k3", "written after the backup")

	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"secret one", "BEGIN CERTIFICATE", "seq"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("backup file shows %q in the clear", s)
		}
	}

	passFile := filepath.Join(t.TempDir(), "master-pass")
	if err := os.WriteFile(passFile, []byte("new master passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mko  barrier.MasterKeyOptions
		kind string
	}{
		{"file master key", barrier.MasterKeyOptions{}, barrier.KindFile},
		{"passphrase master key", barrier.MasterKeyOptions{PassphraseFile: passFile}, barrier.KindPassphrase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "restored")
			if _, err := Restore(context.Background(), file, dst, testPass, RestoreOptions{MasterKey: tc.mko}); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			mk, err := barrier.OpenMasterKeyWith(dst, barrier.MasterKeyOptions{PassphraseFile: tc.mko.PassphraseFile})
			if err != nil {
				t.Fatal(err)
			}
			if mk.Kind() != tc.kind {
				t.Errorf("master key kind %s, want %s", mk.Kind(), tc.kind)
			}
			if _, err := barrier.OpenMasterKeyWith(dst, barrier.MasterKeyOptions{}); tc.kind == barrier.KindPassphrase && err == nil {
				t.Error("a passphrase master key opened without its passphrase")
			}
			st, err := store.OpenBolt(filepath.Join(dst, entryStore), store.BoltOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			b, err := barrier.New(context.Background(), st, mk, barrier.Options{})
			if err != nil {
				t.Fatalf("restored keyring: %v", err)
			}
			for key, want := range map[string]string{"k1": "secret one", "k2": "secret two"} {
				var sealed []byte
				if err := st.View(func(r store.Reader) error {
					v, err := r.Get("keys", []byte(key))
					sealed = bytes.Clone(v)
					return err
				}); err != nil {
					t.Fatalf("get %s: %v", key, err)
				}
				got, err := b.Open("keys", []byte(key), sealed)
				if err != nil || string(got) != want {
					t.Errorf("open %s = %q, %v; want %q", key, got, err, want)
				}
			}
			if err := st.View(func(r store.Reader) error {
				_, err := r.Get("keys", []byte("k3"))
				return err
			}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("k3, written after the backup: %v, want not found", err)
			}
			ledger, err := OpenLedger(st, b)
			if err != nil || ledger.Last().Snapshot.IsZero() {
				t.Errorf("the restored store does not record the backup it came from: %+v %v", ledger.Last(), err)
			}
			// A fresh generation is active: the copy never seals under the
			// original's active key.
			gens := b.Generations()
			if len(gens) != 2 || !gens[1].Active {
				t.Errorf("generations %+v, want the original one and a new active one", gens)
			}
			// The same certificates, the same private keys, sealed anew.
			for _, f := range []string{"pki/ca.pem", "pki/server.pem", "pki/admin.pem", "pki/admin-key.pem", "audit/audit.log"} {
				a, _ := os.ReadFile(filepath.Join(src.dir, f))
				b, err := os.ReadFile(filepath.Join(dst, f))
				if err != nil || !bytes.Equal(a, b) {
					t.Errorf("%s differs after restore (%v)", f, err)
				}
			}
			for i, f := range pki.SealedFiles(dst) {
				orig, err := barrier.OpenFile(src.mk, pki.SealedFiles(src.dir)[i].Path, f.Purpose)
				if err != nil {
					t.Fatal(err)
				}
				got, err := barrier.OpenFile(mk, f.Path, f.Purpose)
				if err != nil || !bytes.Equal(got, orig) {
					t.Errorf("%s: %v", f.Name, err)
				}
			}
			if _, err := pki.LoadServerTLS(dst, mk); err != nil {
				t.Errorf("restored server TLS: %v", err)
			}
			if fi, err := os.Stat(filepath.Join(dst, "pki", "admin-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("admin-key.pem mode: %v %v", fi.Mode(), err)
			}
		})
	}
}

func TestRestoreRefusesAndWritesNothing(t *testing.T) {
	src := newServer(t)
	src.put(t, "k1", "secret one")
	for i := range 150 {
		src.put(t, fmt.Sprintf("filler-%03d", i), strings.Repeat("x", 1000))
	}
	file := src.backupFile(t)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	variant := func(t *testing.T, data []byte) string {
		p := filepath.Join(t.TempDir(), "variant.kwbackup")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	for _, tc := range []struct {
		name   string
		data   []byte
		pass   []byte
		target func(t *testing.T) string
		want   []error
	}{
		{"wrong passphrase", good, []byte("not the passphrase"), absent, []error{ErrWrongPassphrase}},
		{"flipped byte", flipped, testPass, absent, []error{ErrDamaged}},
		{"truncated", good[:len(good)-100], testPass, absent, []error{ErrTruncated, ErrDamaged}},
		{"truncated to a chunk", good[:headerLen+ChunkSize+tagLen], testPass, absent, []error{ErrTruncated}},
		{"empty file", nil, testPass, absent, []error{ErrNotBackup}},
		{"target not empty", good, testPass, notEmpty, []error{ErrTargetNotEmpty}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.target(t)
			before := listDir(t, filepath.Dir(target))
			_, err := Restore(context.Background(), variant(t, tc.data), target, tc.pass, RestoreOptions{})
			if err == nil {
				t.Fatal("Restore succeeded")
			}
			ok := false
			for _, w := range tc.want {
				ok = ok || errors.Is(err, w)
			}
			if !ok {
				t.Fatalf("error %v; want one of %v", err, tc.want)
			}
			if after := listDir(t, filepath.Dir(target)); after != before {
				t.Errorf("the target's directory changed: %q → %q", before, after)
			}
		})
	}
}

// absent is a target directory that does not exist.
func absent(t *testing.T) string { return filepath.Join(t.TempDir(), "new") }

// notEmpty is a target directory holding a file.
func notEmpty(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "used")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "master.key"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// listDir names everything under dir, recursively.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	var out bytes.Buffer
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			out.WriteString(p + "\n")
		}
		return nil
	})
	return out.String()
}

func TestRestoreIntoEmptyDirectory(t *testing.T) {
	src := newServer(t)
	file := src.backupFile(t)
	dst := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	m, err := Restore(context.Background(), file, dst, testPass, RestoreOptions{Now: func() time.Time { return time.Unix(1e9, 0) }})
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if m.Format != ManifestFormat {
		t.Errorf("manifest format %d", m.Format)
	}
	if !barrier.MasterKeyExists(dst) {
		t.Error("no master key in the restored directory")
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".empty.restore-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary directories left: %v", leftovers)
	}
}
