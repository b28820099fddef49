package barrier

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePassphrase writes a passphrase file and returns its path.
func writePassphrase(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sameKey checks that a and b are the same master key: each unwraps what
// the other wrapped.
func sameKey(t *testing.T, a, b MasterKey) {
	t.Helper()
	for _, pair := range [][2]MasterKey{{a, b}, {b, a}} {
		w, err := pair[0].Wrap([]byte("payload"), []byte("aad"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := pair[1].Unwrap(w, []byte("aad"))
		if err != nil || string(got) != "payload" {
			t.Fatalf("unwrap with the reopened key = %q, %v", got, err)
		}
	}
}

func TestFileMasterKey(t *testing.T) {
	dir := t.TempDir()
	if MasterKeyExists(dir) {
		t.Fatal("MasterKeyExists on an empty directory")
	}
	mk, err := CreateMasterKey(dir, "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if mk.Kind() != KindFile || !MasterKeyExists(dir) {
		t.Errorf("kind %q, exists %t; want %q, true", mk.Kind(), MasterKeyExists(dir), KindFile)
	}
	path := filepath.Join(dir, MasterKeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("master key file mode %04o; want 0600", perm)
	}
	if _, err := CreateMasterKey(dir, ""); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second create = %v; want a refusal", err)
	}
	reopened, err := OpenMasterKey(dir, "")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	sameKey(t, mk, reopened)

	if _, err := OpenMasterKey(dir, writePassphrase(t, "secret")); err == nil || !strings.Contains(err.Error(), "not passphrase-protected") {
		t.Errorf("open with a passphrase = %v; want a refusal saying the key is not protected", err)
	}
}

func TestPassphraseMasterKey(t *testing.T) {
	dir := t.TempDir()
	pass := writePassphrase(t, "correct horse battery staple\n")
	mk, err := CreateMasterKey(dir, pass)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if mk.Kind() != KindPassphrase {
		t.Errorf("kind %q; want %q", mk.Kind(), KindPassphrase)
	}
	if fi, err := os.Stat(filepath.Join(dir, MasterKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v, %v; want mode 0600", fi, err)
	}

	t.Run("right passphrase, newline trimmed", func(t *testing.T) {
		reopened, err := OpenMasterKey(dir, writePassphrase(t, "correct horse battery staple"))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		sameKey(t, mk, reopened)
	})
	t.Run("no passphrase", func(t *testing.T) {
		_, err := OpenMasterKey(dir, "")
		if !errors.Is(err, ErrPassphraseRequired) || !strings.Contains(err.Error(), "give --passphrase-file") {
			t.Errorf("open = %v; want ErrPassphraseRequired telling to give --passphrase-file", err)
		}
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		_, err := OpenMasterKey(dir, writePassphrase(t, "Correct horse battery staple"))
		if !errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), "wrong passphrase or corrupted master key file") {
			t.Errorf("open = %v; want ErrWrongPassphrase", err)
		}
	})
	t.Run("empty passphrase file", func(t *testing.T) {
		if _, err := OpenMasterKey(dir, writePassphrase(t, "\n")); err == nil || !strings.Contains(err.Error(), "is empty") {
			t.Errorf("open = %v; want an empty passphrase refused", err)
		}
	})
}

func TestCreateRefusesEmptyPassphrase(t *testing.T) {
	dir := t.TempDir()
	if _, err := CreateMasterKey(dir, writePassphrase(t, "\r\n")); err == nil {
		t.Fatal("create with an empty passphrase succeeded")
	}
	if MasterKeyExists(dir) {
		t.Error("a master key file was left behind")
	}
}

func TestPassphraseFileHoldsNoKeyBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), MasterKeyFile)
	key := randomKey()
	if err := writeMasterKeyFile(path, key, []byte("pass"), defaultKDF); err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+8 <= len(key); i += 8 {
		if bytes.Contains(content, key[i:i+8]) {
			t.Fatalf("passphrase-protected file contains key bytes %d..%d", i, i+8)
		}
	}
	mk, err := OpenMasterKey(filepath.Dir(path), writePassphrase(t, "pass"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := newFileMasterKey(key, KindPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	sameKey(t, mk, want)

	// Damage to the sealed key or to the authenticated header is caught.
	for _, i := range []int{mkHeaderLen + 3, len(content) - 1} {
		bad := bytes.Clone(content)
		bad[i] ^= 0x01
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenMasterKey(filepath.Dir(path), writePassphrase(t, "pass")); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("open with byte %d flipped = %v; want ErrWrongPassphrase", i, err)
		}
	}
}

func TestOpenMasterKeyRefuses(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantMsg string
		wantIs  error
	}{
		{
			name:    "missing",
			setup:   func(*testing.T, string) {},
			wantMsg: "no master key at",
			wantIs:  fs.ErrNotExist,
		},
		{
			name: "readable by group",
			setup: func(t *testing.T, dir string) {
				newKeyFile(t, dir)
				chmod(t, filepath.Join(dir, MasterKeyFile), 0o640)
			},
			wantMsg: "chmod 600",
		},
		{
			name: "readable by others",
			setup: func(t *testing.T, dir string) {
				newKeyFile(t, dir)
				chmod(t, filepath.Join(dir, MasterKeyFile), 0o604)
			},
			wantMsg: "chmod 600",
		},
		{
			name:    "not a master key",
			setup:   func(t *testing.T, dir string) { writeKeyFile(t, dir, []byte("-----BEGIN PRIVATE KEY-----")) },
			wantMsg: "not a keywarden master key file",
		},
		{
			name:    "truncated",
			setup:   func(t *testing.T, dir string) { writeKeyFile(t, dir, []byte("KWMK\x01\x01short")) },
			wantMsg: "corrupted",
		},
		{
			name: "newer file version",
			setup: func(t *testing.T, dir string) {
				writeKeyFile(t, dir, append([]byte("KWMK\x02\x01"), make([]byte, 32)...))
			},
			wantMsg: "master key file version 2",
		},
		{
			name: "absurd Argon2id memory",
			setup: func(t *testing.T, dir string) {
				content := append([]byte("KWMK\x01\x02"), 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 2)
				writeKeyFile(t, dir, append(content, make([]byte, saltLen+gcmOverhead+keySize)...))
			},
			wantMsg: "implausible Argon2id parameters",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			_, err := OpenMasterKey(dir, writePassphrase(t, "pass"))
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("open = %v; want an error saying %q", err, tc.wantMsg)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("open = %v; want it to wrap %v", err, tc.wantIs)
			}
		})
	}
}

func TestWrapBindsAAD(t *testing.T) {
	mk := newFileKey(t)
	w, err := mk.Wrap([]byte("secret"), []byte("purpose A"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mk.Unwrap(w, []byte("purpose B")); !errors.Is(err, ErrTampered) {
		t.Errorf("unwrap with other aad = %v; want ErrTampered", err)
	}
	if _, err := newFileKey(t).Unwrap(w, []byte("purpose A")); !errors.Is(err, ErrTampered) {
		t.Errorf("unwrap with another key = %v; want ErrTampered", err)
	}
	for i := range w {
		bad := bytes.Clone(w)
		bad[i] ^= 0x80
		if _, err := mk.Unwrap(bad, []byte("purpose A")); !errors.Is(err, ErrTampered) {
			t.Fatalf("unwrap with byte %d flipped = %v; want ErrTampered", i, err)
		}
	}
}

func newKeyFile(t *testing.T, dir string) {
	t.Helper()
	if _, err := CreateMasterKey(dir, ""); err != nil {
		t.Fatal(err)
	}
}

func writeKeyFile(t *testing.T, dir string, content []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, MasterKeyFile), content, 0o600); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
