package pki

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func TestParseRole(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Role
		wantErr bool
	}{
		{name: "admin", in: "admin", want: RoleAdmin},
		{name: "operator", in: "operator", want: RoleOperator},
		{name: "auditor", in: "auditor", want: RoleAuditor},
		{name: "client", in: "client", want: RoleClient},
		{name: "unknown", in: "root", wantErr: true},
		{name: "wrong case", in: "Admin", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRole(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseRole(%q) = %q, want error", tt.in, got)
				}
				for _, r := range Roles() {
					if !strings.Contains(err.Error(), string(r)) {
						t.Errorf("error %q does not list allowed role %q", err, r)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRole(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	want := []Role{RoleAdmin, RoleOperator, RoleAuditor, RoleClient}
	if got := Roles(); !slices.Equal(got, want) {
		t.Fatalf("Roles() = %v, want %v", got, want)
	}
	for _, r := range want {
		if !r.Valid() {
			t.Errorf("%q.Valid() = false", r)
		}
	}
}

func TestRoleExtensionRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		role  Role
		group string
	}{
		{name: "admin without group", role: RoleAdmin},
		{name: "operator with group", role: RoleOperator, group: "tape-lib_1.a"},
		{name: "auditor", role: RoleAuditor},
		{name: "client with group", role: RoleClient, group: "lib1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ext, err := roleExtension(tt.role, tt.group)
			if err != nil {
				t.Fatal(err)
			}
			if ext.Critical || !ext.Id.Equal(OIDRoleExtension) {
				t.Fatalf("extension id %v critical %v", ext.Id, ext.Critical)
			}
			role, group, err := parseRoleExtension(ext.Value)
			if err != nil {
				t.Fatal(err)
			}
			if role != tt.role || group != tt.group {
				t.Fatalf("round trip = %q, %q; want %q, %q", role, group, tt.role, tt.group)
			}
		})
	}
}

func TestRoleExtensionRejects(t *testing.T) {
	build := func(f func(b *cryptobyte.Builder)) []byte {
		var b cryptobyte.Builder
		f(&b)
		return b.BytesOrPanic()
	}
	utf8 := func(b *cryptobyte.Builder, s string) {
		b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
	}
	seq := func(f func(b *cryptobyte.Builder)) []byte {
		return build(func(b *cryptobyte.Builder) { b.AddASN1(cbasn1.SEQUENCE, f) })
	}
	good := seq(func(b *cryptobyte.Builder) { b.AddASN1Int64(1); utf8(b, "admin") })
	if _, _, err := parseRoleExtension(good); err != nil {
		t.Fatalf("control value rejected: %v", err)
	}
	tests := []struct {
		name string
		der  []byte
	}{
		{name: "empty", der: nil},
		{name: "not a sequence", der: build(func(b *cryptobyte.Builder) { utf8(b, "admin") })},
		{name: "trailing bytes after sequence", der: append(append([]byte{}, good...), 0)},
		{name: "version 2", der: seq(func(b *cryptobyte.Builder) { b.AddASN1Int64(2); utf8(b, "admin") })},
		{name: "missing role", der: seq(func(b *cryptobyte.Builder) { b.AddASN1Int64(1) })},
		{name: "unknown role", der: seq(func(b *cryptobyte.Builder) { b.AddASN1Int64(1); utf8(b, "root") })},
		{name: "role in wrong case", der: seq(func(b *cryptobyte.Builder) { b.AddASN1Int64(1); utf8(b, "Client") })},
		{name: "role as printable string", der: seq(func(b *cryptobyte.Builder) {
			b.AddASN1Int64(1)
			b.AddASN1(cbasn1.PrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte("admin")) })
		})},
		{name: "invalid group", der: seq(func(b *cryptobyte.Builder) { b.AddASN1Int64(1); utf8(b, "admin"); utf8(b, "a/b") })},
		{name: "extra field", der: seq(func(b *cryptobyte.Builder) {
			b.AddASN1Int64(1)
			utf8(b, "admin")
			utf8(b, "g")
			b.AddASN1Int64(7)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if role, group, err := parseRoleExtension(tt.der); err == nil {
				t.Fatalf("parseRoleExtension accepted %x as %q, %q", tt.der, role, group)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "simple", in: "tape-library_01.site", ok: true},
		{name: "max length", in: strings.Repeat("a", maxNameLen), ok: true},
		{name: "empty", in: ""},
		{name: "too long", in: strings.Repeat("a", maxNameLen+1)},
		{name: "dot", in: "."},
		{name: "dot dot", in: ".."},
		{name: "slash", in: "a/b"},
		{name: "parent path", in: "../x"},
		{name: "backslash", in: `a\b`},
		{name: "space", in: "a b"},
		{name: "non ascii", in: "café"},
		{name: "nul", in: "a\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateName(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("validateName(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}
