package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestPrivateKeysNeverInClear opens the sealed CA and server keys and looks
// for their bytes (PKCS#8 DER, the raw scalar, its hex) in every file of the
// data directory and of an issued client's directory, raw and inside any PEM
// block.
func TestPrivateKeysNeverInClear(t *testing.T) {
	dir, mk := initDir(t, "kms.example.com")
	out := t.TempDir()
	if _, _, err := IssueClient(dir, mk, "op", RoleOperator, out); err != nil {
		t.Fatal(err)
	}
	p := PathsFor(dir)
	for _, sealed := range []struct{ name, path, purpose string }{
		{"ca key", p.CAKey, purposeCAKey},
		{"server key", p.ServerKey, purposeServerKey},
	} {
		t.Run(sealed.name, func(t *testing.T) {
			key, err := openSealedKey(mk, sealed.path, sealed.purpose)
			if err != nil {
				t.Fatal(err)
			}
			der, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			scalar, err := key.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			needles := map[string][]byte{
				"pkcs8 der":  der,
				"scalar":     scalar,
				"scalar hex": []byte(hex.EncodeToString(scalar)),
			}
			scanned := 0
			for _, root := range []string{dir, out} {
				err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					data, err := os.ReadFile(path)
					if err != nil {
						return err
					}
					scanned++
					haystacks := [][]byte{data}
					for rest := data; ; {
						var block *pem.Block
						block, rest = pem.Decode(rest)
						if block == nil {
							break
						}
						haystacks = append(haystacks, block.Bytes)
					}
					for _, h := range haystacks {
						for what, n := range needles {
							if bytes.Contains(h, n) {
								t.Errorf("%s of the %s found in %s", what, sealed.name, path)
							}
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if scanned < 8 {
				t.Fatalf("scanned only %d files", scanned)
			}
		})
	}
}
