package main

import (
	"slices"
	"testing"

	"github.com/keywarden/keywarden/internal/config"
)

// TestServerConfigFreshGroups: [kmip] fresh_groups reaches the server
// configuration; none by default.
func TestServerConfigFreshGroups(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"default: none", nil, nil},
		{"named", []string{"KEYWARDEN_KMIP_FRESH_GROUPS=default,tapes"}, []string{"default", "tapes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := config.Empty()
			if err := f.ApplyEnv(tc.env); err != nil {
				t.Fatal(err)
			}
			sc, err := serverConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sc.FreshGroups, tc.want) {
				t.Fatalf("fresh groups = %q, want %q", sc.FreshGroups, tc.want)
			}
		})
	}
}
