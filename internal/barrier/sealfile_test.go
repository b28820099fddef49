package barrier

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealFile(t *testing.T) {
	mk := newFileKey(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "ca-key.sealed")
	secret := []byte("-----BEGIN PRIVATE KEY-----\nMIGH...\n")

	if err := SealFile(mk, path, "pki ca key", secret); err != nil {
		t.Fatalf("seal: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("sealed file mode %04o; want 0600", fi.Mode().Perm())
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(content, []byte("PRIVATE KEY")) {
		t.Error("sealed file contains the plaintext")
	}
	got, err := OpenFile(mk, path, "pki ca key")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open = %q, %v; want the plaintext", got, err)
	}

	// Replacing keeps one file and leaves no temporary file behind.
	if err := SealFile(mk, path, "pki ca key", []byte("rotated")); err != nil {
		t.Fatalf("reseal: %v", err)
	}
	if got, err := OpenFile(mk, path, "pki ca key"); err != nil || string(got) != "rotated" {
		t.Errorf("open after reseal = %q, %v", got, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after two seals; want 1", len(entries))
	}
}

func TestOpenFileRefuses(t *testing.T) {
	mk := newFileKey(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "server-key.sealed")
	if err := SealFile(mk, path, "pki server key", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 0x01

	tests := []struct {
		name    string
		content []byte
		mk      MasterKey
		purpose string
		wantIs  error
		wantMsg string
	}{
		{"another purpose", good, mk, "pki ca key", ErrTampered, ""},
		{"another master key", good, newFileKey(t), "pki server key", ErrTampered, ""},
		{"flipped byte", flipped, mk, "pki server key", ErrTampered, ""},
		{"not a sealed file", []byte("-----BEGIN"), mk, "pki server key", nil, "not a keywarden sealed file"},
		{"newer version", append([]byte("KWSF\x02"), good[5:]...), mk, "pki server key", nil, "sealed file version 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f.sealed")
			if err := os.WriteFile(p, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := OpenFile(tc.mk, p, tc.purpose)
			if err == nil {
				t.Fatalf("open succeeded with %q", got)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("open = %v; want %v", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || strings.Contains(err.Error(), "secret") {
				t.Errorf("open = %q; want it to say %q and not show the plaintext", err, tc.wantMsg)
			}
		})
	}
	if _, err := OpenFile(mk, filepath.Join(dir, "missing"), "x"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("open of a missing file = %v; want ErrNotExist", err)
	}
}
