package config

import (
	"slices"
	"testing"
)

// TestKMIPFreshGroups: [kmip] fresh_groups is read from the file and from
// KEYWARDEN_KMIP_FRESH_GROUPS, the environment winning.
func TestKMIPFreshGroups(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  []string
		want []string
	}{
		{"absent", "version = 1\n", nil, nil},
		{"file", "version = 1\n[kmip]\nfresh_groups = [\"default\", \"tapes\"]\n", nil, []string{"default", "tapes"}},
		{"environment", "version = 1\n[kmip]\nfresh_groups = [\"default\"]\n", []string{"KEYWARDEN_KMIP_FRESH_GROUPS=pool"}, []string{"pool"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseNative("k.conf", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if err := f.ApplyEnv(tc.env); err != nil {
				t.Fatal(err)
			}
			if got := f.Config.KMIP.FreshGroups; !slices.Equal(got, tc.want) {
				t.Fatalf("fresh groups = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("unknown key of the section", func(t *testing.T) {
		if _, err := ParseNative("k.conf", []byte("version = 1\n[kmip]\nfresh_group = []\n")); err == nil {
			t.Fatal("misspelt key accepted")
		}
	})
}
