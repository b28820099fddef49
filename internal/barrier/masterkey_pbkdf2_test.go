package barrier

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// inFIPSMode makes the barrier take its FIPS branch for the rest of t.
func inFIPSMode(t *testing.T) {
	t.Helper()
	saved := fipsEnabled
	fipsEnabled = func() bool { return true }
	t.Cleanup(func() { fipsEnabled = saved })
}

func TestPassphraseMasterKeyFIPS(t *testing.T) {
	// An Argon2id file made before FIPS mode is switched on (skipped when
	// the whole process already runs in FIPS mode).
	argonDir := t.TempDir()
	pass := writePassphrase(t, "correct horse battery staple")
	if !fipsEnabled() {
		if _, err := CreateMasterKey(argonDir, pass); err != nil {
			t.Fatal(err)
		}
	}
	inFIPSMode(t)

	dir := t.TempDir()
	mk, err := CreateMasterKey(dir, pass)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	content, err := os.ReadFile(filepath.Join(dir, MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(content) != pbkdf2FileLen || content[len(mkMagic)+1] != mkModePBKDF2 {
		t.Fatalf("master key file of %d bytes, mode %d; want a PBKDF2 file (mode %d)", len(content), content[len(mkMagic)+1], mkModePBKDF2)
	}
	if it := uint32(content[6])<<24 | uint32(content[7])<<16 | uint32(content[8])<<8 | uint32(content[9]); it != pbkdf2Iterations {
		t.Errorf("iterations %d; want %d", it, pbkdf2Iterations)
	}

	t.Run("right passphrase", func(t *testing.T) {
		re, err := OpenMasterKey(dir, pass)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if re.Kind() != KindPassphrase {
			t.Errorf("kind %q", re.Kind())
		}
		sameKey(t, mk, re)
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		_, err := OpenMasterKey(dir, writePassphrase(t, "Correct horse battery staple"))
		if !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("open = %v; want ErrWrongPassphrase", err)
		}
	})
	t.Run("no passphrase", func(t *testing.T) {
		if _, err := OpenMasterKey(dir, ""); !errors.Is(err, ErrPassphraseRequired) {
			t.Errorf("open = %v; want ErrPassphraseRequired", err)
		}
	})
	t.Run("tampered iteration count", func(t *testing.T) {
		bad := t.TempDir()
		c := append([]byte(nil), content...)
		c[9] ^= 1
		writeKeyFile(t, bad, c)
		if _, err := OpenMasterKey(bad, pass); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("open = %v; want the header authenticated", err)
		}
	})
	t.Run("absurd iteration count", func(t *testing.T) {
		bad := t.TempDir()
		c := append([]byte(nil), content...)
		c[6], c[7], c[8], c[9] = 0, 0, 0, 1
		writeKeyFile(t, bad, c)
		if _, err := OpenMasterKey(bad, pass); err == nil || !strings.Contains(err.Error(), "implausible PBKDF2 iteration count") {
			t.Errorf("open = %v; want an implausible count refused", err)
		}
	})
	t.Run("Argon2id file refused in FIPS mode", func(t *testing.T) {
		if !MasterKeyExists(argonDir) {
			t.Skip("process already in FIPS mode: no Argon2id file could be made")
		}
		_, err := OpenMasterKey(argonDir, pass)
		if err == nil || !strings.Contains(err.Error(), "Argon2id, which is not FIPS-approved") {
			t.Errorf("open = %v; want a refusal naming Argon2id and FIPS", err)
		}
	})
	t.Run("PBKDF2 file opens outside FIPS mode too", func(t *testing.T) {
		fipsEnabled = func() bool { return false }
		defer func() { fipsEnabled = func() bool { return true } }()
		re, err := OpenMasterKey(dir, pass)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		sameKey(t, mk, re)
	})
}
