//go:build cgo

package barrier

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/keywarden/keywarden/internal/barrier/softhsmtest"
	"github.com/keywarden/keywarden/internal/store"
)

// closeKey ends mk's sessions, so that the next test's SoftHSM2
// configuration takes effect (the module is finalised once unused).
func closeKey(t *testing.T, mk MasterKey) {
	t.Helper()
	c, ok := mk.(interface{ Close() error })
	if !ok {
		t.Fatalf("%T has no Close", mk)
	}
	if err := c.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// newPKCS11Key creates a PKCS#11 master key in a fresh token.
func newPKCS11Key(t *testing.T) (softhsmtest.Token, string, MasterKey) {
	t.Helper()
	tok := softhsmtest.New(t, "kw-test")
	dir := t.TempDir()
	mk, err := CreateMasterKeyWith(dir, MasterKeyOptions{
		Seal:    KindPKCS11,
		PKCS11:  PKCS11Config{Module: tok.Module, TokenLabel: tok.Label},
		PINFile: tok.PINFile,
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return tok, dir, mk
}

func TestPKCS11MasterKey(t *testing.T) {
	tok, dir, mk := newPKCS11Key(t)
	if mk.Kind() != KindPKCS11 {
		t.Errorf("kind %q; want %q", mk.Kind(), KindPKCS11)
	}
	path := filepath.Join(dir, MasterKeyFile)
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("descriptor: %v, %v; want mode 0600", fi, err)
	}
	for _, want := range []string{`"kind": "pkcs11"`, tok.Module, `"token_label": "kw-test"`, `"key_label": "keywarden-master-`} {
		if !strings.Contains(string(content), want) {
			t.Errorf("descriptor lacks %q:\n%s", want, content)
		}
	}
	if strings.Contains(string(content), tok.PIN) || strings.Contains(string(content), tok.SOPIN) {
		t.Errorf("descriptor holds a PIN:\n%s", content)
	}

	// A barrier over the token's key; reopened with the PIN from a file
	// and then from the environment, the sealed value is still readable.
	st, err := store.OpenBolt(filepath.Join(dir, "keywarden.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := newBarrier(t, st, mk, Options{})
	sealed, err := b.Seal("objects", []byte("k1"), []byte("secret value"))
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	wrapped, err := mk.Wrap([]byte("payload"), []byte("aad"))
	if err != nil {
		t.Fatalf("wrap: %v", err)
	}
	closeKey(t, mk)

	t.Run("reopen with --pin-file", func(t *testing.T) {
		re, err := OpenMasterKeyWith(dir, MasterKeyOptions{PINFile: tok.PINFile})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer closeKey(t, re)
		got, err := re.Unwrap(wrapped, []byte("aad"))
		if err != nil || string(got) != "payload" {
			t.Fatalf("unwrap = %q, %v", got, err)
		}
		b2 := newBarrier(t, st, re, Options{})
		pt, err := b2.Open("objects", []byte("k1"), sealed)
		if err != nil || string(pt) != "secret value" {
			t.Fatalf("barrier open after reopening = %q, %v", pt, err)
		}
	})
	t.Run("reopen with the PIN in the environment", func(t *testing.T) {
		t.Setenv(PINEnv, tok.PIN)
		re, err := OpenMasterKey(dir, "")
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer closeKey(t, re)
		sameKeyAs(t, re, wrapped)
	})
	t.Run("tampered values refused", func(t *testing.T) {
		re, err := OpenMasterKeyWith(dir, MasterKeyOptions{PINFile: tok.PINFile})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer closeKey(t, re)
		flipped := append([]byte(nil), wrapped...)
		flipped[len(flipped)-1] ^= 1
		for name, c := range map[string]struct {
			w   []byte
			aad string
		}{
			"other aad":     {wrapped, "other"},
			"flipped tag":   {flipped, "aad"},
			"short":         {wrapped[:10], "aad"},
			"file key wrap": {append([]byte{wrapVersion}, wrapped[1:]...), "aad"},
		} {
			if _, err := re.Unwrap(c.w, []byte(c.aad)); !errors.Is(err, ErrTampered) {
				t.Errorf("%s: unwrap = %v; want ErrTampered", name, err)
			}
		}
	})
}

// sameKeyAs checks that mk unwraps w, wrapped under aad "aad".
func sameKeyAs(t *testing.T, mk MasterKey, w []byte) {
	t.Helper()
	got, err := mk.Unwrap(w, []byte("aad"))
	if err != nil || string(got) != "payload" {
		t.Fatalf("unwrap = %q, %v", got, err)
	}
}

func TestPKCS11OpenRefuses(t *testing.T) {
	tok, dir, mk := newPKCS11Key(t)
	closeKey(t, mk)
	tok.InitToken(t, "kw-other")
	wrongPIN := filepath.Join(t.TempDir(), "wrong-pin")
	if err := os.WriteFile(wrongPIN, []byte("not-the-pin-9999"), 0o600); err != nil {
		t.Fatal(err)
	}
	desc, err := os.ReadFile(filepath.Join(dir, MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	// withDescriptor copies the data directory's descriptor, edited.
	withDescriptor := func(t *testing.T, from, to string) string {
		d := t.TempDir()
		edited := strings.Replace(string(desc), from, to, 1)
		if err := os.WriteFile(filepath.Join(d, MasterKeyFile), []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		opts    MasterKeyOptions
		env     string
		wantIs  error
		wantMsg []string
	}{
		{
			name: "wrong PIN", dir: func(*testing.T) string { return dir },
			opts: MasterKeyOptions{PINFile: wrongPIN}, wantIs: ErrWrongPIN,
			wantMsg: []string{`token "kw-test"`, tok.Module, "refused the PIN"},
		},
		{
			name: "wrong PIN in the environment", dir: func(*testing.T) string { return dir },
			env: "not-the-pin-9999", wantIs: ErrWrongPIN,
			wantMsg: []string{`token "kw-test"`, "refused the PIN"},
		},
		{
			name: "no PIN", dir: func(*testing.T) string { return dir }, wantIs: ErrPINRequired,
			wantMsg: []string{"--pin-file", PINEnv, `token "kw-test"`},
		},
		{
			name: "missing token",
			dir: func(t *testing.T) string {
				return withDescriptor(t, `"token_label": "kw-test"`, `"token_label": "kw-gone"`)
			},
			opts:   MasterKeyOptions{PINFile: tok.PINFile},
			wantIs: ErrTokenNotFound, wantMsg: []string{`token "kw-gone"`, tok.Module, "no token with that label"},
		},
		{
			name: "token without the key",
			dir: func(t *testing.T) string {
				return withDescriptor(t, `"token_label": "kw-test"`, `"token_label": "kw-other"`)
			},
			opts:   MasterKeyOptions{PINFile: tok.PINFile},
			wantIs: ErrMasterKeyNotFound, wantMsg: []string{`token "kw-other"`, "holds 0 keys"},
		},
		{
			name: "module missing",
			dir: func(t *testing.T) string {
				return withDescriptor(t, `"module": "`+tok.Module, `"module": "/nonexistent/libpkcs11.so`)
			},
			opts: MasterKeyOptions{PINFile: tok.PINFile}, wantMsg: []string{"/nonexistent/libpkcs11.so", "cannot load the module"},
		},
		{
			name: "passphrase file given", dir: func(*testing.T) string { return dir },
			opts: MasterKeyOptions{PINFile: tok.PINFile, PassphraseFile: tok.PINFile}, wantMsg: []string{"remove --passphrase-file"},
		},
		{
			name: "unknown descriptor field",
			dir:  func(t *testing.T) string { return withDescriptor(t, `"kind"`, `"pin": "x", "kind"`) },
			opts: MasterKeyOptions{PINFile: tok.PINFile}, wantMsg: []string{"unreadable master key descriptor"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(PINEnv, tc.env)
			mk, err := OpenMasterKeyWith(tc.dir(t), tc.opts)
			if err == nil {
				closeKey(t, mk)
				t.Fatal("open succeeded")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("open = %v; want it to wrap %v", err, tc.wantIs)
			}
			for _, w := range tc.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("open = %v; want it to say %q", err, w)
				}
			}
			for _, secret := range []string{tok.PIN, "not-the-pin-9999"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a PIN: %v", err)
				}
			}
		})
	}
	// The right PIN still works after all that.
	re, err := OpenMasterKeyWith(dir, MasterKeyOptions{PINFile: tok.PINFile})
	if err != nil {
		t.Fatalf("open with the right PIN: %v", err)
	}
	closeKey(t, re)
}

func TestPKCS11CreateRefuses(t *testing.T) {
	tok := softhsmtest.New(t, "kw-test")
	good := PKCS11Config{Module: tok.Module, TokenLabel: tok.Label}
	tests := []struct {
		name    string
		opts    MasterKeyOptions
		wantMsg string
	}{
		{"no module", MasterKeyOptions{Seal: KindPKCS11, PKCS11: PKCS11Config{TokenLabel: "x"}, PINFile: tok.PINFile}, "--pkcs11-module"},
		{"no token label", MasterKeyOptions{Seal: KindPKCS11, PKCS11: PKCS11Config{Module: tok.Module}, PINFile: tok.PINFile}, "--token-label"},
		{"passphrase too", MasterKeyOptions{Seal: KindPKCS11, PKCS11: good, PINFile: tok.PINFile, PassphraseFile: tok.PINFile}, "remove --passphrase-file"},
		{"missing token", MasterKeyOptions{Seal: KindPKCS11, PKCS11: PKCS11Config{Module: tok.Module, TokenLabel: "nope"}, PINFile: tok.PINFile}, "no token with that label"},
		{"unknown seal", MasterKeyOptions{Seal: "tpm"}, `unknown master key seal "tpm"`},
		{"PIN file for a file key", MasterKeyOptions{PINFile: tok.PINFile}, "PIN file is for a master key in an HSM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mk, err := CreateMasterKeyWith(dir, tc.opts)
			if err == nil {
				closeKey(t, mk)
				t.Fatal("create succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("create = %v; want it to say %q", err, tc.wantMsg)
			}
			if MasterKeyExists(dir) {
				t.Error("a master key file was left behind")
			}
		})
	}
	t.Run("label taken", func(t *testing.T) {
		cfg := good
		cfg.KeyLabel = "kw-fixed"
		mk, err := CreateMasterKeyWith(t.TempDir(), MasterKeyOptions{Seal: KindPKCS11, PKCS11: cfg, PINFile: tok.PINFile})
		if err != nil {
			t.Fatalf("first create: %v", err)
		}
		closeKey(t, mk)
		mk, err = CreateMasterKeyWith(t.TempDir(), MasterKeyOptions{Seal: KindPKCS11, PKCS11: cfg, PINFile: tok.PINFile})
		if err == nil {
			closeKey(t, mk)
			t.Fatal("second create with the same key label succeeded")
		}
		if !strings.Contains(err.Error(), `already holds a key labelled "kw-fixed"`) {
			t.Errorf("create = %v", err)
		}
	})
}

// TestPKCS11MasterKeyNotExtractable talks to the token directly, as an
// attacker holding the PIN would, and checks that the master key's value
// can neither be read nor wrapped out, nor be made extractable.
func TestPKCS11MasterKeyNotExtractable(t *testing.T) {
	tok, dir, mk := newPKCS11Key(t)
	closeKey(t, mk)
	d, err := parseDescriptor("master.key", mustRead(t, filepath.Join(dir, MasterKeyFile)))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := hex.DecodeString(d.KeyID)

	p := pkcs11.New(tok.Module)
	if p == nil {
		t.Fatalf("load %s", tok.Module)
	}
	defer p.Destroy()
	if err := p.Initialize(); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	defer p.Finalize()
	slots, err := p.GetSlotList(true)
	if err != nil {
		t.Fatal(err)
	}
	var slot uint
	found := false
	for _, s := range slots {
		if ti, err := p.GetTokenInfo(s); err == nil && ti.Label == tok.Label {
			slot, found = s, true
		}
	}
	if !found {
		t.Fatalf("token %q not found", tok.Label)
	}
	sh, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseSession(sh)
	if err := p.Login(sh, pkcs11.CKU_USER, tok.PIN); err != nil {
		t.Fatalf("login: %v", err)
	}
	if err := p.FindObjectsInit(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_ID, id), pkcs11.NewAttribute(pkcs11.CKA_LABEL, d.KeyLabel),
	}); err != nil {
		t.Fatal(err)
	}
	objs, _, err := p.FindObjects(sh, 2)
	_ = p.FindObjectsFinal(sh)
	if err != nil || len(objs) != 1 {
		t.Fatalf("find master key: %v, %d objects", err, len(objs))
	}
	key := objs[0]

	t.Run("attributes", func(t *testing.T) {
		attrs, err := p.GetAttributeValue(sh, key, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
			pkcs11.NewAttribute(pkcs11.CKA_NEVER_EXTRACTABLE, nil), pkcs11.NewAttribute(pkcs11.CKA_TOKEN, nil),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, nil),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []byte{1, 0, 1, 1}
		for i, w := range want {
			if len(attrs[i].Value) != 1 || attrs[i].Value[0] != w {
				t.Errorf("attribute %#x = %v; want %d", attrs[i].Type, attrs[i].Value, w)
			}
		}
		if n := attrs[4].Value; len(n) == 0 || n[0] != 32 {
			t.Errorf("CKA_VALUE_LEN = %v; want 32", n)
		}
	})
	t.Run("CKA_VALUE cannot be read", func(t *testing.T) {
		attrs, err := p.GetAttributeValue(sh, key, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
		if err == nil {
			t.Fatalf("read CKA_VALUE: %d bytes returned", len(attrs[0].Value))
		}
		if !errors.Is(err, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_SENSITIVE)) {
			t.Errorf("read CKA_VALUE = %v; want CKR_ATTRIBUTE_SENSITIVE", err)
		}
	})
	t.Run("cannot be wrapped out", func(t *testing.T) {
		kek, err := p.GenerateKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)},
			[]*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
				pkcs11.NewAttribute(pkcs11.CKA_WRAP, true), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true),
			})
		if err != nil {
			t.Fatalf("generate wrapping key: %v", err)
		}
		out, err := p.WrapKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP, nil)}, kek, key)
		if err == nil {
			t.Fatalf("wrap the master key out: %d bytes returned", len(out))
		}
		if !errors.Is(err, pkcs11.Error(pkcs11.CKR_KEY_UNEXTRACTABLE)) {
			t.Errorf("wrap = %v; want CKR_KEY_UNEXTRACTABLE", err)
		}
	})
	t.Run("cannot be made extractable", func(t *testing.T) {
		for _, a := range []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true), pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, false),
		} {
			if err := p.SetAttributeValue(sh, key, []*pkcs11.Attribute{a}); err == nil {
				t.Errorf("set attribute %#x accepted", a.Type)
			}
		}
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
