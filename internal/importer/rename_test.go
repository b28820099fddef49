package importer

import (
	"errors"
	"strings"
	"testing"
)

func TestRenamerCandidate(t *testing.T) {
	long := strings.Repeat("L", 64)
	for _, tc := range []struct {
		name string
		r    Renamer
		base string
		i    int
		want string
	}{
		{"first", Renamer{Suffix: "_ekm"}, "KEY", 1, "KEY_ekm"},
		{"second", Renamer{Suffix: "_ekm"}, "KEY", 2, "KEY_ekm2"},
		{"twelfth", Renamer{Suffix: "_IMPORTED"}, "KEY", 12, "KEY_IMPORTED12"},
		{"cut to MaxLen", Renamer{Suffix: "_ekm", MaxLen: 64}, long, 1, strings.Repeat("L", 60) + "_ekm"},
		{"cut to MaxLen, numbered", Renamer{Suffix: "_ekm", MaxLen: 64}, long, 3, strings.Repeat("L", 59) + "_ekm3"},
		{"no MaxLen keeps the name whole", Renamer{Suffix: "_ekm"}, long, 1, long + "_ekm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Candidate(tc.base, tc.i); got != tc.want {
				t.Fatalf("Candidate(%q, %d) = %q, want %q", tc.base, tc.i, got, tc.want)
			}
		})
	}
}

func TestRenamerIsRenameOf(t *testing.T) {
	r := Renamer{Suffix: "_ekm"}
	for _, tc := range []struct {
		name, candidate string
		tries           int
		want            bool
	}{
		{"first", "KEY_ekm", 3, true},
		{"third", "KEY_ekm3", 3, true},
		{"beyond tries", "KEY_ekm4", 3, false},
		{"the name itself", "KEY", 3, false},
		{"another base", "OTHER_ekm", 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.IsRenameOf(tc.candidate, "KEY", tc.tries); got != tc.want {
				t.Fatalf("IsRenameOf(%q) = %v, want %v", tc.candidate, got, tc.want)
			}
		})
	}
}

func TestRenamerFirst(t *testing.T) {
	r := Renamer{Suffix: "_X"}
	taken := map[string]bool{"A_X": true, "A_X2": true}
	errProbe := errors.New("probe failed")
	for _, tc := range []struct {
		name    string
		tries   int
		stop    func(string) (bool, error)
		want    string
		wantErr error
	}{
		{"first free", 0, func(c string) (bool, error) { return !taken[c], nil }, "A_X3", nil},
		{"bounded, found", 3, func(c string) (bool, error) { return !taken[c], nil }, "A_X3", nil},
		{"bounded, none free", 2, func(c string) (bool, error) { return !taken[c], nil }, "", ErrNoFreeName},
		{"probe error", 0, func(string) (bool, error) { return false, errProbe }, "", errProbe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.First("A", tc.tries, tc.stop)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Fatalf("First = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
