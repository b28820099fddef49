//go:build !cgo

package barrier

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPKCS11WithoutCgo(t *testing.T) {
	cfg := PKCS11Config{Module: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "kw"}
	t.Setenv(PINEnv, "1234")
	t.Run("create", func(t *testing.T) {
		dir := t.TempDir()
		_, err := CreateMasterKeyWith(dir, MasterKeyOptions{Seal: KindPKCS11, PKCS11: cfg})
		if !errors.Is(err, ErrPKCS11Unavailable) || !strings.Contains(err.Error(), "CGO_ENABLED=1") {
			t.Errorf("create = %v; want ErrPKCS11Unavailable saying to rebuild with CGO_ENABLED=1", err)
		}
		if MasterKeyExists(dir) {
			t.Error("a master key file was left behind")
		}
	})
	t.Run("open", func(t *testing.T) {
		dir := t.TempDir()
		cfg.KeyLabel, cfg.KeyID = "keywarden-master-00", "00"
		content, err := marshalDescriptor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, MasterKeyFile), content, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = OpenMasterKey(dir, "")
		if !errors.Is(err, ErrPKCS11Unavailable) || !strings.Contains(err.Error(), "built without cgo") ||
			!strings.Contains(err.Error(), `token "kw"`) {
			t.Errorf("open = %v; want ErrPKCS11Unavailable naming the token and saying cgo is missing", err)
		}
	})
}
