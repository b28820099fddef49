package main

import (
	"slices"
	"testing"
)

func TestFIPSEnviron(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"no GODEBUG", []string{"HOME=/root"}, []string{"HOME=/root", "GODEBUG=fips140=on", fipsReexecEnv + "=1"}},
		{"GODEBUG kept, fips140 last", []string{"GODEBUG=http2client=0,fips140=off", "PATH=/bin"},
			[]string{"PATH=/bin", "GODEBUG=http2client=0,fips140=off,fips140=on", fipsReexecEnv + "=1"}},
		{"marker not doubled", []string{fipsReexecEnv + "=0"}, []string{"GODEBUG=fips140=on", fipsReexecEnv + "=1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fipsEnviron(tc.env); !slices.Equal(got, tc.want) {
				t.Errorf("fipsEnviron(%q) = %q; want %q", tc.env, got, tc.want)
			}
		})
	}
}
