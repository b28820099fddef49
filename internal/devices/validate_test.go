package devices

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestValidateGroupName(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantMsg string // empty: valid
	}{
		{name: "simple", in: "tapes"},
		{name: "mixed case digits underscore", in: "Lib_01a"},
		{name: "one letter", in: "a"},
		{name: "sixteen characters", in: strings.Repeat("g", 16)},
		{name: "default", in: "default"},
		{name: "family name inside", in: "LTO_lib"},
		{name: "empty", in: "", wantMsg: `group name is empty`},
		{name: "seventeen characters", in: strings.Repeat("g", 17), wantMsg: "must be at most 16 characters"},
		{name: "digit first", in: "1abc", wantMsg: `devices: group name "1abc": must start with a letter`},
		{name: "underscore first", in: "_abc", wantMsg: "must start with a letter"},
		{name: "hyphen", in: "tape-lib", wantMsg: "may contain only letters, digits and underscores"},
		{name: "dot", in: "a.b", wantMsg: "may contain only letters, digits and underscores"},
		{name: "space", in: "a b", wantMsg: "may contain only letters, digits and underscores"},
		{name: "non ascii letter", in: "grüppe", wantMsg: "may contain only letters, digits and underscores"},
		{name: "non ascii first", in: "éa", wantMsg: "must start with a letter"},
		{name: "reserved LTO", in: "LTO", wantMsg: "reserved"},
		{name: "reserved lto lower case", in: "lto", wantMsg: "reserved"},
		{name: "reserved DS8K", in: "Ds8k", wantMsg: "reserved"},
		{name: "reserved GENERIC", in: "generic", wantMsg: "reserved"},
		// "3592" starts with a digit: refused by the first-letter rule.
		{name: "reserved 3592", in: "3592", wantMsg: "must start with a letter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateGroupName(tt.in)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("ValidateGroupName(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ValidateGroupName(%q) = %v, want ErrInvalid", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("ValidateGroupName(%q) = %q, want it to contain %q", tt.in, err, tt.wantMsg)
			}
		})
	}
}

func TestParseFamilyPolicyState(t *testing.T) {
	tests := []struct {
		name  string
		parse func(string) (string, error)
		in    string
		want  string // empty: error
	}{
		{"family lower case", func(s string) (string, error) { f, err := ParseFamily(s); return string(f), err }, "lto", "LTO"},
		{"family 3592", func(s string) (string, error) { f, err := ParseFamily(s); return string(f), err }, "3592", "3592"},
		{"family generic", func(s string) (string, error) { f, err := ParseFamily(s); return string(f), err }, "Generic", "GENERIC"},
		{"family unknown", func(s string) (string, error) { f, err := ParseFamily(s); return string(f), err }, "3590", ""},
		{"family empty", func(s string) (string, error) { f, err := ParseFamily(s); return string(f), err }, "", ""},
		{"policy name", func(s string) (string, error) { p, err := ParsePolicy(s); return string(p), err }, "Accept", "accept"},
		{"policy SKLM 0", func(s string) (string, error) { p, err := ParsePolicy(s); return string(p), err }, "0", "reject"},
		{"policy SKLM 2", func(s string) (string, error) { p, err := ParsePolicy(s); return string(p), err }, "2", "pending"},
		{"policy unknown", func(s string) (string, error) { p, err := ParsePolicy(s); return string(p), err }, "maybe", ""},
		{"state", func(s string) (string, error) { p, err := ParseState(s); return string(p), err }, "DISABLED", "disabled"},
		{"state unknown", func(s string) (string, error) { p, err := ParseState(s); return string(p), err }, "gone", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("parse(%q) = %q, %v; want ErrInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	colons := strings.ToUpper(strings.TrimSuffix(strings.Repeat("AB:", 32), ":"))
	tests := []struct {
		name string
		in   string
		want string // empty: error
	}{
		{name: "lower hex", in: hex64, want: hex64},
		{name: "openssl style", in: colons, want: hex64},
		{name: "surrounding space", in: " " + hex64 + "\n", want: hex64},
		{name: "too short", in: hex64[:62]},
		{name: "not hex", in: strings.Repeat("zz", 32)},
		{name: "empty", in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeFingerprint(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("NormalizeFingerprint(%q) = %q, %v; want ErrInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeFingerprint(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizeOps(t *testing.T) {
	got, err := normalizeOps([]string{"get", "Get Attributes", "LOCATE", "Get"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Get", "GetAttributes", "Locate"}; !slices.Equal(got, want) {
		t.Fatalf("normalizeOps = %v, want %v", got, want)
	}
	if _, err := normalizeOps([]string{"Get", "Fetch"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"Fetch"`) {
		t.Fatalf("unknown operation: err = %v", err)
	}
}

func TestNormalizeDevice(t *testing.T) {
	fp := strings.Repeat("0a", 32)
	tests := []struct {
		name    string
		in      Device
		wantMsg string // empty: valid
	}{
		{name: "minimal", in: Device{Family: "lto", Serial: "A1"}},
		{name: "duplicate fingerprints", in: Device{Family: "LTO", Serial: "A1", Fingerprints: []string{fp, strings.ToUpper(fp)}}},
		{name: "no serial", in: Device{Family: "LTO", Serial: "  "}, wantMsg: "serial number is required"},
		{name: "serial with space", in: Device{Family: "LTO", Serial: "A 1"}, wantMsg: "serial number"},
		{name: "serial too long", in: Device{Family: "LTO", Serial: strings.Repeat("9", 65)}, wantMsg: "at most 64"},
		{name: "no family", in: Device{Serial: "A1"}, wantMsg: "family is required"},
		{name: "bad family", in: Device{Family: "tape", Serial: "A1"}, wantMsg: `family "tape": must be one of`},
		{name: "bad state", in: Device{Family: "LTO", Serial: "A1", State: "on"}, wantMsg: "device state"},
		{name: "bad fingerprint", in: Device{Family: "LTO", Serial: "A1", Fingerprints: []string{"abc"}}, wantMsg: "fingerprint"},
		{name: "control character in description", in: Device{Family: "LTO", Serial: "A1", Description: "a\x07"}, wantMsg: "description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalizeDevice(tt.in)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.Group != DefaultGroup || got.State != StateActive || got.Family != FamilyLTO || len(got.Fingerprints) > 1 {
					t.Fatalf("normalized = %+v", got)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want ErrInvalid containing %q", err, tt.wantMsg)
			}
		})
	}
}
