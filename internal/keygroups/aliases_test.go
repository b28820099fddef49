package keygroups

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAliasSet(t *testing.T) {
	tests := []struct {
		in          string
		n           int
		first, last string
	}{
		{"des01-1f", 31, "des01", "des1f"},
		{"des01-des1f", 31, "des01", "des1f"},
		{"AES00-AES0F", 16, "AES00", "AES0F"},
		{"key1", 1, "key1", "key1"},
		{"a,b, c", 3, "a", "c"},
		{"lto000-00f,spare", 17, "lto000", "spare"},
		{"des01-01", 1, "des01", "des01"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAliasSet(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n || got[0] != tc.first || got[len(got)-1] != tc.last {
				t.Fatalf("got %d aliases %q … %q, want %d %q … %q", len(got), got[0], got[len(got)-1], tc.n, tc.first, tc.last)
			}
		})
	}
	seed, _ := ParseAliasSet("des01-1f")
	if strings.Join(seed[:3], ",") != "des01,des02,des03" || seed[9] != "des0a" || seed[15] != "des10" {
		t.Fatalf("seed set runs %v", seed[:17])
	}
}

func TestParseAliasSetRefuses(t *testing.T) {
	for _, in := range []string{"", "a,,b", "des1f-01", "des01-1fff", "des01-zz", "a b", "x-", "-x", "a,a", "des00000-fffff", "p0-1-2"} {
		t.Run(in, func(t *testing.T) {
			if _, err := ParseAliasSet(in); !errors.Is(err, ErrAliasSet) {
				t.Fatalf("ParseAliasSet(%q) = %v, want ErrAliasSet", in, err)
			}
		})
	}
}

func FuzzParseAliasSet(f *testing.F) {
	for _, s := range []string{"des01-1f", "a,b", "AES00-AES0F", "x", "des01-des1f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseAliasSet(s)
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > MaxAliases {
			t.Fatalf("%q gave %d aliases", s, len(got))
		}
		seen := map[string]bool{}
		for _, a := range got {
			if seen[strings.ToLower(a)] || a == "" {
				t.Fatalf("%q gave a duplicate or empty alias %q", s, a)
			}
			seen[strings.ToLower(a)] = true
		}
	})
}
