package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// roundTrip checks that a parsed configuration converts to a native file
// that reads back as the same configuration.
func roundTrip(t *testing.T, f *File) {
	t.Helper()
	native := f.Native(false)
	back, err := ParseNative("converted.conf", native)
	if err != nil {
		t.Fatalf("converted file does not parse: %v\n%s", err, native)
	}
	if !reflect.DeepEqual(back.Config, f.Config) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v\n%s", back.Config, f.Config, native)
	}
	var b strings.Builder
	if err := f.WriteCheck(&b); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseNative(f *testing.F) {
	for _, name := range []string{"testdata/keywarden.conf"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("version = 1\n[listeners]\nkmip = \"127.0.0.1:0\"\n[tls]\ncipher_suites = ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256']\n"))
	f.Add([]byte("version = 1\nnode = \"a\\u00e9\\\"b\" # c\n[audit]\nmax_size = \"1 GiB\"\ntypes = [\"key\",]\n"))
	f.Add([]byte("version = 1\n[drive]\nkey_set = \"des01-1f\"\nalias1 = 'x'\n[limits]\nmax_conns = 1_0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := ParseNative("fuzz.conf", data)
		if err != nil {
			if cf != nil {
				t.Fatal("a File with an error")
			}
			if !strings.HasPrefix(err.Error(), "fuzz.conf") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		roundTrip(t, cf)
	})
}

func FuzzParseProperties(f *testing.F) {
	data, err := os.ReadFile(seedSample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("a\\\n b = c\\u0041\\\r\n d\n! x\n#y\\\nTransportListener.ssl.port 1443\n"))
	f.Add([]byte("drive.default.alias1:L\\:1\nsymmetricKeySet=k01-0f,spare\nAudit.event.types=runtime,authentication\n"))
	f.Add([]byte("\\u00zz=1\n=\n:\n\\\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := ParseProperties("fuzz.properties", data)
		if err != nil {
			if pf != nil {
				t.Fatal("a File with an error")
			}
			if !strings.HasPrefix(err.Error(), "fuzz.properties") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, p := range pf.Properties {
			if p.Secret && p.Value != Redacted {
				t.Fatalf("secret %s kept", p.Name)
			}
		}
		roundTrip(t, pf)
	})
}
