//go:build cgo

package barrier

import (
	"context"
	"testing"

	"github.com/keywarden/keywarden/internal/barrier/softhsmtest"
)

func TestRotateMasterKeyPKCS11(t *testing.T) {
	tok := softhsmtest.New(t, "kw-rotate")
	p11 := MasterKeyOptions{Seal: KindPKCS11, PKCS11: PKCS11Config{Module: tok.Module, TokenLabel: tok.Label}, PINFile: tok.PINFile}
	pinOnly := MasterKeyOptions{PINFile: tok.PINFile}
	t.Run("file to pkcs11 to pkcs11 to file", func(t *testing.T) {
		f := newRotationFixture(t, MasterKeyOptions{})
		mk, _, err := RotateMasterKey(context.Background(), f.dir, f.st, []SealedFileRef{f.file}, MasterKeyOptions{}, p11, nil)
		if err != nil {
			t.Fatalf("file to pkcs11: %v", err)
		}
		first := mk.(*pkcs11MasterKey).cfg
		closeMasterKey(mk)
		f.check(t, pinOnly, KindPKCS11)

		mk, _, err = RotateMasterKey(context.Background(), f.dir, f.st, []SealedFileRef{f.file}, pinOnly, p11, nil)
		if err != nil {
			t.Fatalf("pkcs11 to pkcs11: %v", err)
		}
		second := mk.(*pkcs11MasterKey).cfg
		// The first key is gone from the token.
		if keys, err := mk.(*pkcs11MasterKey).ctx.FindKeys(nil, []byte(first.KeyLabel)); err != nil || len(keys) != 0 {
			t.Errorf("old key %q still in the token: %d keys, %v", first.KeyLabel, len(keys), err)
		}
		closeMasterKey(mk)
		if second.KeyLabel == first.KeyLabel {
			t.Errorf("new key has the old label %q", first.KeyLabel)
		}
		f.check(t, pinOnly, KindPKCS11)

		mk, _, err = RotateMasterKey(context.Background(), f.dir, f.st, []SealedFileRef{f.file}, pinOnly, MasterKeyOptions{Seal: KindFile}, nil)
		if err != nil {
			t.Fatalf("pkcs11 to file: %v", err)
		}
		closeMasterKey(mk)
		f.check(t, MasterKeyOptions{}, KindFile)
	})
}
