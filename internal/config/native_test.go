package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestExampleFileIsTheDefaults(t *testing.T) {
	f, err := Load("testdata/keywarden.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	// A list written [] is empty, as the default's nil is.
	got := f.Config
	got.TLS.CipherSuites, got.Audit.Types, got.Audit.Outcomes, got.KMIP.FreshGroups = nil, nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("example file differs from the defaults:\n got %+v\nwant %+v", got, want)
	}
	if len(f.Sources) != len(schema) {
		t.Errorf("example file sets %d keys, the schema has %d: document every key", len(f.Sources), len(schema))
	}
}

func TestParseNativeValues(t *testing.T) {
	src := `version = 1   # the format
data_dir = '/var/lib/keywarden'
node = "tape\"ks\u00e9"
fips = true
[listeners]
kmip = "127.0.0.1:0"
[tls]
min_version = "1.3"
cipher_suites = ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',]
[devices]
unknown = "Accept"
[drive]
alias1 = "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20"
key_set = "des01-1f"
[audit]
max_size = "10 MiB"
max_age = "720h"
types = ["key", "auth"]
syslog_network = "udp"
syslog_address = "127.0.0.1:514"
[limits]
max_conns = 1_000
max_message_size = 65536
`
	f, err := ParseNative("k.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Config
	checks := []struct {
		name      string
		got, want any
	}{
		{"data_dir", c.DataDir, "/var/lib/keywarden"},
		{"node", c.Node, "tape\"ksé"},
		{"fips", c.FIPS, true},
		{"kmip", c.Listeners.KMIP, "127.0.0.1:0"},
		{"device default", c.Listeners.Device, DefaultDeviceAddr},
		{"min_version", c.TLS.MinVersion, "1.3"},
		{"suites", c.TLS.CipherSuites, []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}},
		{"unknown canonical", c.Devices.Unknown, "accept"},
		{"key_group from key_set", c.Drive.KeyGroup, DefaultKeyGroupName},
		{"max_size", c.Audit.MaxSize, int64(10 << 20)},
		{"max_age", c.Audit.MaxAge, 720 * time.Hour},
		{"types", c.Audit.Types, []string{"key", "auth"}},
		{"max_conns", c.Limits.MaxConns, 1000},
		{"max_message_size", c.Limits.MaxMessageSize, 65536},
		{"source line", f.Sources["listeners.kmip"].Line, 6},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
	ids, err := c.TLS.TLSCipherSuites()
	if err != nil || len(ids) != 2 {
		t.Errorf("TLSCipherSuites = %v, %v", ids, err)
	}
}

// TestBadNative: every mistake names the file, the line and the key, and
// says what is allowed.
func TestBadNative(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		line     int
		key      string
		contains []string
	}{
		{"unknown key with suggestion", "version = 1\n[listeners]\nkmpi = \":1\"\n", 3, "listeners.kmpi", []string{`did you mean "kmip"`, "want one of kmip, device, admin"}},
		{"key in the wrong section", "version = 1\n[tls]\nunknown = \"accept\"\n", 3, "tls.unknown", []string{"belongs in [devices]"}},
		{"unknown section", "version = 1\n[listener]\nkmip = \":1\"\n", 2, "", []string{"unknown section [listener]", "did you mean [listeners]"}},
		{"bad enum", "version = 1\n[devices]\nunknown = \"acept\"\n", 3, "devices.unknown", []string{"reject, accept, pending", `did you mean "accept"`}},
		{"unquoted string", "version = 1\ndata_dir = /var/lib\n", 2, "data_dir", []string{`write it in quotes`}},
		{"bad address", "version = 1\n[listeners]\ndevice = \"1443\"\n", 3, "listeners.device", []string{"HOST:PORT"}},
		{"port out of range", "version = 1\n[listeners]\ndevice = \":70000\"\n", 3, "listeners.device", []string{"0 to 65535"}},
		{"bool as string", "version = 1\nfips = \"yes\"\n", 2, "fips", []string{"true or false"}},
		{"negative number", "version = 1\n[limits]\nmax_conns = -1\n", 3, "limits.max_conns", []string{"whole number"}},
		{"bad duration", "version = 1\n[limits]\nshutdown_grace = \"10\"\n", 3, "limits.shutdown_grace", []string{`"30s"`}},
		{"bad size unit", "version = 1\n[audit]\nmax_size = \"10 parsecs\"\n", 3, "audit.max_size", []string{"MiB"}},
		{"set twice", "version = 1\nnode = \"a\"\nnode = \"b\"\n", 3, "node", []string{"set twice (first on line 2)"}},
		{"weak cipher suite", "version = 1\n[tls]\ncipher_suites = [\"TLS_RSA_WITH_RC4_128_SHA\"]\n", 3, "tls.cipher_suites", []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}},
		{"TLS 1.1", "version = 1\n[tls]\nmin_version = \"1.1\"\n", 3, "tls.min_version", []string{"want one of 1.2, 1.3"}},
		{"client auth off", "version = 1\n[tls]\nclient_auth = \"none\"\n", 3, "tls.client_auth", []string{"require"}},
		{"unclosed string", "version = 1\nnode = \"abc\n", 2, "node", []string{"not closed"}},
		{"text after value", "version = 1\nnode = \"a\" \"b\"\n", 2, "node", []string{"after the value"}},
		{"multi-line list", "version = 1\n[audit]\ntypes = [\"key\",\n", 3, "audit.types", []string{"one line"}},
		{"bad audit type", "version = 1\n[audit]\ntypes = [\"keys\"]\n", 3, "audit.types", []string{`did you mean "key"`}},
		{"bad key set", "version = 1\n[drive]\nkey_set = \"des01-zz\"\n", 3, "drive.key_set", []string{"des01-1f"}},
		{"bad key group name", "version = 1\n[drive]\nkey_group = \"9lto\"\n", 3, "drive.key_group", []string{"letter"}},
		{"label with a space", "version = 1\n[drive]\nalias1 = \"Tape Sol\"\n", 3, "drive.alias1", []string{"without spaces"}},
		{"syslog without address", "version = 1\n[audit]\nsyslog_network = \"tcp\"\n", 3, "audit.syslog_network", []string{"syslog_address"}},
		{"audit name with a path", "version = 1\n[audit]\nname = \"../x.log\"\n", 3, "audit.name", []string{"plain file name"}},
		{"small audit size", "version = 1\n[audit]\nmax_size = 100\n", 3, "audit.max_size", []string{"4096"}},
		{"wrong version", "version = 2\n", 1, "version", []string{"want 1"}},
		{"missing version", "node = \"a\"\n", 0, "version", []string{"version = 1"}},
		{"top-level key in a section", "version = 1\n[audit]\ndata_dir = \"x\"\n", 3, "audit.data_dir", []string{"top-level key"}},
		{"control character", "version = 1\nnode = \"a\\u0007\"\n", 2, "node", []string{"control character"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseNative("bad.conf", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			if ce.File != "bad.conf" || ce.Line != tc.line || ce.Key != tc.key {
				t.Errorf("error at %s:%d key %q, want bad.conf:%d key %q (%v)", ce.File, ce.Line, ce.Key, tc.line, tc.key, err)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if tc.line > 0 && !strings.HasPrefix(err.Error(), "bad.conf:"+strconv.Itoa(tc.line)+": ") {
				t.Errorf("error %q does not start with FILE:LINE", err)
			}
		})
	}
}

func TestByteOrderMark(t *testing.T) {
	f, err := ParseNative("bom.conf", []byte("\ufeffversion = 1\r\nnode = \"n\"\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Config.Node != "n" {
		t.Errorf("node %q", f.Config.Node)
	}
}

func TestAllMistakesReported(t *testing.T) {
	_, err := ParseNative("bad.conf", []byte("version = 1\nnode = 1\nfips = 2\n[nope]\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"bad.conf:2: node", "bad.conf:3: fips", "bad.conf:4: unknown section"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keywarden.conf")
	src := "version = 1\ndata_dir = \"/from/file\"\n[listeners]\nkmip = \"127.0.0.1:1\"\ndevice = \"127.0.0.1:2\"\nadmin = \"127.0.0.1:3\"\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"KEYWARDEN_DEVICE_ADDR=127.0.0.1:20", "KEYWARDEN_KMIP_ADDR=127.0.0.1:10", "KEYWARDEN_ADDR=https://ignored:1", "KEYWARDEN_NODE="}
	if err := f.ApplyEnv(env); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("listeners.kmip", "kmip-addr", "127.0.0.1:100"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, got, want, source string
	}{
		{"flag over env and file", f.Config.Listeners.KMIP, "127.0.0.1:100", "flag --kmip-addr"},
		{"env over file", f.Config.Listeners.Device, "127.0.0.1:20", "environment KEYWARDEN_DEVICE_ADDR"},
		{"file over default", f.Config.Listeners.Admin, "127.0.0.1:3", path + ":6 (listeners.admin)"},
		{"file data dir", f.Config.DataDir, "/from/file", path + ":2 (data_dir)"},
		{"default", f.Config.LogLevel, "info", "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("value %q, want %q", tc.got, tc.want)
			}
		})
	}
	var b strings.Builder
	if err := f.WriteCheck(&b); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		if !strings.Contains(b.String(), tc.source) {
			t.Errorf("check output does not name the source %q:\n%s", tc.source, b.String())
		}
	}
	if err := Empty().ApplyEnv([]string{"KEYWARDEN_FIPS=maybe"}); err == nil || !strings.Contains(err.Error(), "KEYWARDEN_FIPS") {
		t.Errorf("bad environment value: %v", err)
	}
	if err := f.Set("listeners.kmip", "kmip-addr", "nope"); err == nil || !strings.Contains(err.Error(), "--kmip-addr") {
		t.Errorf("bad flag value: %v", err)
	}
}

func TestDefaultsWithoutFile(t *testing.T) {
	f := Empty()
	if err := f.ApplyEnv(nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Config, Defaults()) {
		t.Errorf("no file, no environment: %+v, want the defaults", f.Config)
	}
	if f.Config.Listeners.Device != ":1443" || f.Config.Listeners.KMIP != ":5696" || f.Config.Listeners.Admin != ":9443" {
		t.Errorf("default listeners changed: %+v", f.Config.Listeners)
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name, path, data string
		want             Format
	}{
		{"properties by name", "ISKLMConfig.properties", "version = 1", FormatProperties},
		{"zos sample by name", "ISKLMConfig.properties.zos", "", FormatProperties},
		{"native by name", "keywarden.conf", "a=b", FormatNative},
		{"native by content", "cfg", "# c\nversion = 1\n", FormatNative},
		{"properties by content", "cfg", "! c\nTransportListener.ssl.port=1443\n", FormatProperties},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DetectFormat(tc.path, []byte(tc.data)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"kmpi", "kmip"}, {"devise", "device"}, {"zzzzzz", ""}, {"ADMIN", "admin"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := suggest(tc.in, []string{"kmip", "device", "admin"}); got != tc.want {
				t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
