package interop

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// checkPyKMIPDerived checks the Secret Data PyKMIP derived with Derive Key
// (PBKDF2-HMAC-SHA256, salt "keywarden-salt", 1000 iterations, 256 bits)
// from the password it registered: the value Get returns is the one the
// standard library derives.
func checkPyKMIPDerived(t *testing.T, res pyResult) {
	t.Helper()
	var derived pyKey
	if !decodeStep(t, res, "get_derived", &derived) {
		return
	}
	password, err := hex.DecodeString(res.SecretHex)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pbkdf2.Key(sha256.New, string(password), []byte("keywarden-salt"), 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	if derived.ObjectType != "SECRET_DATA" || derived.ValueHex != hex.EncodeToString(want) {
		t.Errorf("Get derived: %s, %d bytes, value equal to PBKDF2's %v; want SECRET_DATA", derived.ObjectType, derived.ValueLen,
			derived.ValueHex == hex.EncodeToString(want))
	}
}
