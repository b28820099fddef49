package config

import (
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const seedSample = "testdata/ISKLMConfig.properties"

// seedLabels are the seed's drive.default.alias1/2.
var seedLabels = []string{"Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20", "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21"}

func checkOutput(t *testing.T, f *File) string {
	t.Helper()
	var b strings.Builder
	if err := f.WriteCheck(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestSeedSample: the seed's sample configuration (its three slides,
// joined) is read, every property recognised and mapped.
func TestSeedSample(t *testing.T) {
	f, err := Load(seedSample)
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != FormatProperties {
		t.Fatalf("format %s", f.Format)
	}
	if len(f.Properties) != 37 {
		t.Errorf("%d properties, want the sample's 37", len(f.Properties))
	}
	for _, p := range f.Properties {
		if _, known := isklmProperties[p.Name]; !known {
			t.Errorf("line %d: %s is not recognised", p.Line, p.Name)
		}
		if p.Effect == "" {
			t.Errorf("line %d: %s has no effect described", p.Line, p.Name)
		}
	}
	c := f.Config
	checks := []struct {
		name      string
		got, want any
	}{
		{"SSL port and host → device listener", c.Listeners.Device, "localhost:1443"},
		{"KMIP listener keeps its default", c.Listeners.KMIP, DefaultKMIPAddr},
		{"alias1", c.Drive.Alias1, seedLabels[0]},
		{"alias2", c.Drive.Alias2, seedLabels[1]},
		{"acceptUnknownDrives", c.Devices.Unknown, "accept"},
		{"symmetricKeySet", c.Drive.KeySet, "des01-1f"},
		{"key group", c.Drive.KeyGroup, DefaultKeyGroupName},
		{"audit dir", c.Audit.Dir, "/KLMLOGS/Z1/logs"},
		{"audit name", c.Audit.Name, "isklm_audit.log"},
		{"audit size in KiB", c.Audit.MaxSize, int64(10000 << 10)},
		{"audit types all", len(c.Audit.Types), 0},
		{"audit outcomes (failure keeps denials)", c.Audit.Outcomes, []string{"denied", "failure", "success"}},
		{"audit queue", c.Audit.QueueMax, 0},
		{"metadata file, FILE: and escapes resolved", c.Usage.MetadataFile, "/KLMETC/Z1/metadata/SKLMDData.xml"},
		{"fips=Off", c.FIPS, false},
		{"debug=none", c.LogLevel, "info"},
		{"SSL_TLS → TLS 1.2", c.TLS.MinVersion, "1.2"},
		{"JSSE_ALL → default suites", len(c.TLS.CipherSuites), 0},
		{"requireHardwareProtectionForSymmetricKeys", c.RequireHSM, true},
		{"alias1 source line", f.Sources["drive.alias1"].Line, 30},
		{"device source line", f.Sources["listeners.device"].Line, 9},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
	// Each value keywarden does not act on is named in a warning that
	// says what keywarden does instead.
	warnings := map[string]string{
		"TransportListener.tcp.port":                 "TLS only",
		"config.keystore.file":                       "safkeyring",
		"config.keystore.type":                       "JCECCARACFKS",
		"config.keystore.provider":                   "IBMJCECCA",
		"zOSCompatibility":                           "no effect",
		"requireHardwareProtectionForSymmetricKeys":  "still starts",
		"TransportListener.ssl.clientauthentication": "requires and verifies a client certificate",
		"config.drivetable.file.url":                 "keywarden migrate",
		"config.keygroup.xml.file":                   "keywarden migrate",
	}
	for key, says := range warnings {
		t.Run("warning "+key, func(t *testing.T) {
			for _, w := range f.Warnings {
				if w.Key == key && strings.Contains(w.Text, says) && w.Line > 0 && w.File == seedSample {
					return
				}
			}
			t.Errorf("no warning on %s saying %q; warnings: %v", key, says, f.Warnings)
		})
	}
}

// TestSeedSampleCheckOutput: config check names both labels and both
// ports with what happens to each, and never shows a password.
func TestSeedSampleCheckOutput(t *testing.T) {
	f, err := Load(seedSample)
	if err != nil {
		t.Fatal(err)
	}
	out := checkOutput(t, f)
	for _, want := range []string{
		seedLabels[0], seedLabels[1],
		"SSL port 1443: served — the device listener (TLS) listens on localhost:1443",
		"TCP port 3801: not served — drives are served over TLS only",
		"TCP port 3801 is not served",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	// The seed's passwords are the word "password".
	if m := regexp.MustCompile(`(?i)password\s*[=:]\s*password`).FindString(out); m != "" {
		t.Errorf("check output shows a password: %q", m)
	}
	if n := strings.Count(out, Redacted); n != 3 {
		t.Errorf("%d redacted values, want the sample's 3 passwords", n)
	}
}

// TestSecretsNeverPrinted replaces the sample's passwords with distinct
// values and looks for them in every output.
func TestSecretsNeverPrinted(t *testing.T) {
	data, err := os.ReadFile(seedSample)
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	secrets := []string{"Kx9-first-secret", "Qz7-second-secret", "Wv3-third-secret"}
	for _, s := range secrets {
		if !strings.Contains(src, "password=password") {
			t.Fatal("the sample has fewer passwords than the test replaces")
		}
		src = strings.Replace(src, "password=password", "password="+s, 1)
	}
	src += "Some.custom.trustPassword=Zr2-fifth-secret\n"
	secrets = append(secrets, "Zr2-fifth-secret")
	f, err := ParseProperties("s.properties", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{"check": checkOutput(t, f), "convert": string(f.Native(false))}
	for _, w := range f.Warnings {
		outputs["warnings"] += w.String() + "\n"
	}
	for _, p := range f.Properties {
		outputs["properties"] += p.Value + "\n"
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains the secret %q", name, s)
			}
		}
	}
}

// TestConvertSeedSample: the native equivalent reads back as the same
// configuration.
func TestConvertSeedSample(t *testing.T) {
	f, err := Load(seedSample)
	if err != nil {
		t.Fatal(err)
	}
	native := f.Native(false)
	back, err := ParseNative("keywarden.conf", native)
	if err != nil {
		t.Fatalf("converted file does not parse: %v\n%s", err, native)
	}
	if !reflect.DeepEqual(back.Config, f.Config) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", back.Config, f.Config)
	}
	for _, want := range []string{`device = "localhost:1443"`, `alias1 = "` + seedLabels[0] + `"`, `key_set = "des01-1f"`,
		"#   TransportListener.tcp.port=3801", "#   zOSCompatibility=true"} {
		if !strings.Contains(string(native), want) {
			t.Errorf("converted file lacks %q:\n%s", want, native)
		}
	}
}

func TestJavaPropertiesSyntax(t *testing.T) {
	src := "# comment\n" +
		"! another comment \\\n" +
		"   drive.default.alias1 = Label\\\n" +
		"     _One\n" +
		"drive.default.alias2:\\u0041lias2\n" +
		"Audit.handler.file.directory /var/log/kw\n" +
		"config.drivetable.file.url=FILE\\:/KLMETC/Z1/filedrive.table\r\n" +
		"TransportListener.ssl.port=1443\n" +
		"TransportListener.ssl.port=1444\n" +
		"Some.unknown.property=1\n" +
		"drive.acceptUnknownDrives=false\n" +
		"ds8k.acceptUnknownDrives=true\n"
	f, err := ParseProperties("j.properties", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Config
	checks := []struct {
		name      string
		got, want any
	}{
		{"continuation", c.Drive.Alias1, "Label_One"},
		{"continued line's number", f.Sources["drive.alias1"].Line, 3},
		{"colon separator and unicode escape", c.Drive.Alias2, "Alias2"},
		{"space separator", c.Audit.Dir, "/var/log/kw"},
		{"last value counts", c.Listeners.Device, ":1444"},
		{"disagreeing acceptUnknownDrives", c.Devices.Unknown, "pending"},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
	var drive Property
	for _, p := range f.Properties {
		if p.Name == "config.drivetable.file.url" {
			drive = p
		}
	}
	if drive.Value != "FILE:/KLMETC/Z1/filedrive.table" || drive.Line != 7 {
		t.Errorf("escaped colon: %+v", drive)
	}
	for _, want := range []string{"j.properties:9: TransportListener.ssl.port: set again (first on line 8)",
		"j.properties:10: Some.unknown.property: not an ISKLM/EKM property", "j.properties:12: ds8k.acceptUnknownDrives: differs"} {
		found := false
		for _, w := range f.Warnings {
			found = found || strings.HasPrefix(w.String(), want)
		}
		if !found {
			t.Errorf("no warning %q in %v", want, f.Warnings)
		}
	}
}

// TestBadProperties: a bad value of a mapped property names the file,
// the line and the property.
func TestBadProperties(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		line     int
		key      string
		contains string
	}{
		{"port not a number", "debug=none\nTransportListener.ssl.port=ssl\n", 2, "TransportListener.ssl.port", "port number"},
		{"port out of range", "TransportListener.tcp.port=99999\n", 1, "TransportListener.tcp.port", "0 to 65535"},
		{"unknown protocol", "\n\nTransportListener.ssl.protocols=SSLv3only\n", 3, "TransportListener.ssl.protocols", "TLSv1.2"},
		{"client authentication", "TransportListener.ssl.clientauthentication=maybe\n", 1, "TransportListener.ssl.clientauthentication", "2 (required)"},
		{"audit size", "Audit.handler.file.size=ten\n", 1, "Audit.handler.file.size", "KiB"},
		{"audit outcome", "Audit.event.outcome=success,maybe\n", 1, "Audit.event.outcome", "success, failure"},
		{"audit type", "Audit.event.types=runtime,bogus\n", 1, "Audit.event.types", "authentication"},
		{"accept unknown", "drive.acceptUnknownDrives=perhaps\n", 1, "drive.acceptUnknownDrives", "true or false"},
		{"fips", "fips=sometimes\n", 1, "fips", "true or false"},
		{"key set", "symmetricKeySet=des01-zz\n", 1, "symmetricKeySet (drive.key_set)", "des01-1f"},
		{"alias with a space", "drive.default.alias1=Tape\\ Sol\n", 1, "drive.default.alias1 (drive.alias1)", "without spaces"},
		{"audit name with a path", "Audit.handler.file.name=/tmp/x.log\n", 1, "Audit.handler.file.name (audit.name)", "plain file name"},
		{"queue", "Audit.eventQueue.max=-4\n", 1, "Audit.eventQueue.max", "whole number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProperties("bad.properties", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			if ce.File != "bad.properties" || ce.Line != tc.line || ce.Key != tc.key {
				t.Errorf("error at %s:%d key %q, want bad.properties:%d key %q (%v)", ce.File, ce.Line, ce.Key, tc.line, tc.key, err)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not say %q", err, tc.contains)
			}
		})
	}
}

func TestLogicalLines(t *testing.T) {
	got := logicalLines("a=1\\\n  2\r\n# c \\\nb=\\\\\nc=3\\\\\\\n4\n\n")
	want := []logicalLine{{1, "a=1\\\n  2"}, {4, "b=\\\\"}, {5, "c=3\\\\\\\n4"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
