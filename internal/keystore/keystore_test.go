package keystore

import (
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keywarden/keywarden/internal/keystore/keytooltest"
)

// The seed's two key labels.
const (
	label20 = "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20"
	label21 = "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21"
)

// javaFixture makes a keystore with keytool: the seed's two labels as
// RSA-1024 key pairs (label 21's key under keyPass) and a partner's
// certificate as a trusted entry.
func javaFixture(t testing.TB, typ, storePass, keyPass string) []byte {
	t.Helper()
	fixtures.Lock()
	defer fixtures.Unlock()
	id := typ + "/" + storePass + "/" + keyPass
	if data, ok := fixtures.m[id]; ok {
		return data
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "ks."+typ)
	keytooltest.GenKeyPair(t, file, typ, storePass, storePass, label20, 1024)
	keytooltest.GenKeyPair(t, file, typ, storePass, keyPass, label21, 1024)
	partner := filepath.Join(dir, "partner."+typ)
	keytooltest.GenKeyPair(t, partner, typ, storePass, storePass, "partner", 2048)
	pem := filepath.Join(dir, "partner.pem")
	keytooltest.ExportCert(t, partner, typ, storePass, "partner", pem)
	keytooltest.ImportCert(t, file, typ, storePass, "partner", pem)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fixtures.m[id] = data
	return data
}

// fixtures caches the keytool keystores (keytool takes seconds per call);
// tests copy before changing one.
var fixtures = struct {
	sync.Mutex
	m map[string][]byte
}{m: map[string][]byte{}}

func TestJavaKeyPasswords(t *testing.T) {
	for _, typ := range []Type{TypeJKS, TypeJCEKS} {
		t.Run(string(typ), func(t *testing.T) {
			data := javaFixture(t, string(typ), "storepw-1", "keypw-21")
			if got := Detect(data); got != typ {
				t.Fatalf("Detect = %q, want %q", got, typ)
			}
			ks, err := Parse(data, "", Options{StorePassword: "storepw-1", KeyPassword: "keypw-21"})
			if err != nil {
				t.Fatalf("Parse with both passwords: %v", err)
			}
			if len(ks.Entries) != 3 {
				t.Fatalf("%d entries, want 3", len(ks.Entries))
			}
			_, err = Parse(data, typ, Options{StorePassword: "storepw-1"})
			if !errors.Is(err, ErrPassword) {
				t.Fatalf("label 21 under the store password: err = %v, want ErrPassword", err)
			}
		})
	}
}

func TestJavaKeystoreEntries(t *testing.T) {
	for _, typ := range []Type{TypeJKS, TypeJCEKS} {
		t.Run(string(typ), func(t *testing.T) {
			data := javaFixture(t, string(typ), "storepw-1", "storepw-1")
			ks, err := Parse(data, typ, Options{StorePassword: "storepw-1"})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := map[string]Entry{}
			for _, e := range ks.Entries {
				got[e.Alias] = e
			}
			// keytool lowercases the aliases.
			for _, name := range []string{"tape_sol_tst_shr_pvt_1024_lbl_20", "tape_sol_tst_shr_pvt_1024_lbl_21"} {
				e, ok := got[name]
				if !ok {
					t.Fatalf("no entry %q in %v", name, ks.Entries)
				}
				k, ok := e.PrivateKey.(*rsa.PrivateKey)
				if !ok || k.N.BitLen() != 1024 {
					t.Fatalf("entry %q: key %T, want RSA-1024", name, e.PrivateKey)
				}
				if err := k.Validate(); err != nil {
					t.Fatalf("entry %q: key: %v", name, err)
				}
				if e.Created.IsZero() || e.Chain[0].Subject.CommonName == "" {
					t.Fatalf("entry %q: created %v, subject %q", name, e.Created, e.Chain[0].Subject)
				}
			}
			if p, ok := got["partner"]; !ok || !p.Trusted() || len(p.Chain) != 1 {
				t.Fatalf("partner entry = %+v, want a trusted certificate", p)
			}
		})
	}
}

func TestJavaKeystoreRefusals(t *testing.T) {
	for _, typ := range []Type{TypeJKS, TypeJCEKS} {
		data := javaFixture(t, string(typ), "storepw-1", "storepw-1")
		tampered := append([]byte(nil), data...)
		tampered[len(tampered)/2] ^= 1
		tests := []struct {
			name string
			data []byte
			typ  Type
			opts Options
			want error
		}{
			{"wrong store password", data, typ, Options{StorePassword: "nope"}, ErrPassword},
			{"one flipped bit", tampered, typ, Options{StorePassword: "storepw-1"}, ErrPassword},
			{"truncated", data[:len(data)-30], typ, Options{StorePassword: "storepw-1"}, ErrPassword},
			{"wrong type", data, map[Type]Type{TypeJKS: TypeJCEKS, TypeJCEKS: TypeJKS}[typ], Options{StorePassword: "storepw-1"}, ErrFormat},
			{"empty", nil, "", Options{}, ErrFormat},
		}
		for _, tc := range tests {
			t.Run(string(typ)+"/"+tc.name, func(t *testing.T) {
				_, err := Parse(tc.data, tc.typ, tc.opts)
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}
	}
}

func TestPKCS12FromOpenSSL(t *testing.T) {
	dir := t.TempDir()
	p12 := keytooltest.PKCS12(t, dir, label20, "p12-pass", 1024)
	data, err := os.ReadFile(p12)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := Parse(data, "", Options{StorePassword: "p12-pass"})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(ks.Entries) != 1 || ks.Entries[0].Alias != label20 || ks.Entries[0].PrivateKey == nil {
		t.Fatalf("entries = %+v, want one key entry %q (openssl keeps the case)", ks.Entries, label20)
	}
	if _, err := Parse(data, TypePKCS12, Options{StorePassword: "wrong"}); !errors.Is(err, ErrPassword) {
		t.Fatalf("wrong password: err = %v, want ErrPassword", err)
	}
}

func TestPKCS12FromKeytool(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ks.p12")
	keytooltest.GenKeyPair(t, file, "pkcs12", "storepw-1", "storepw-1", label20, 2048)
	keytooltest.GenKeyPair(t, file, "pkcs12", "storepw-1", "storepw-1", label21, 2048)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := Parse(data, TypePKCS12, Options{StorePassword: "storepw-1"})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	names := map[string]bool{}
	for _, e := range ks.Entries {
		names[e.Alias] = e.PrivateKey != nil
	}
	for _, want := range []string{"tape_sol_tst_shr_pvt_1024_lbl_20", "tape_sol_tst_shr_pvt_1024_lbl_21"} {
		if !names[want] {
			t.Fatalf("entries %v: want key entry %q", names, want)
		}
	}
}

func TestModifiedUTF8(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
		ok   bool
	}{
		{"ascii", []byte("abc"), "abc", true},
		{"nul", []byte{'a', 0xC0, 0x80}, "a\x00", true},
		{"two bytes", []byte{0xC3, 0xA9}, "é", true},
		{"surrogate pair", []byte{0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80}, "😀", true},
		{"truncated", []byte{0xE2, 0x82}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeModifiedUTF8(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("got %q, %v; want %q, ok=%v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestPKCS12WithTrustedCertFromKeytool(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ks.p12")
	keytooltest.GenKeyPair(t, file, "pkcs12", "storepw-1", "storepw-1", label20, 2048)
	partner := filepath.Join(dir, "partner.p12")
	keytooltest.GenKeyPair(t, partner, "pkcs12", "storepw-1", "storepw-1", "partner", 2048)
	pem := filepath.Join(dir, "partner.pem")
	keytooltest.ExportCert(t, partner, "pkcs12", "storepw-1", "partner", pem)
	keytooltest.ImportCert(t, file, "pkcs12", "storepw-1", "partner", pem)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// go-pkcs12 does not convert keytool's trusted-certificate attribute,
	// and the fallback cannot tell the partner's certificate from the
	// key's chain: refused with advice, never misread.
	_, err = Parse(data, TypePKCS12, Options{StorePassword: "storepw-1"})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "JKS") {
		t.Fatalf("err = %v, want ErrUnsupported advising JKS", err)
	}
	// Converted to JKS, as advised, it reads.
	jks := filepath.Join(dir, "ks.jks")
	keytooltest.Run(t, keytooltest.Keytool(t), "-importkeystore", "-srckeystore", file, "-srcstoretype", "pkcs12",
		"-srcstorepass", "storepw-1", "-destkeystore", jks, "-deststoretype", "jks", "-deststorepass", "storepw-1", "-noprompt")
	if data, err = os.ReadFile(jks); err != nil {
		t.Fatal(err)
	}
	ks, err := Parse(data, "", Options{StorePassword: "storepw-1"})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := map[string]bool{}
	for _, e := range ks.Entries {
		got[e.Alias] = e.Trusted()
	}
	if trusted, ok := got["partner"]; !ok || !trusted {
		t.Fatalf("entries %v: want the partner's trusted certificate", got)
	}
	if trusted, ok := got["tape_sol_tst_shr_pvt_1024_lbl_20"]; !ok || trusted {
		t.Fatalf("entries %v: want label 20's key entry", got)
	}
}
