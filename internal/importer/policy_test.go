package importer

import "testing"

// TestWordsPolicy: each path's words name the policies; any other word,
// another path's included, names none and reads as Refuse.
func TestWordsPolicy(t *testing.T) {
	w := Words{Refuse: "fail", Skip: "skip", Rename: "rename"}
	named := map[string]Policy{"fail": Refuse, "skip": Skip, "rename": Rename}
	for word, want := range named {
		t.Run("names "+word, func(t *testing.T) {
			if got, ok := w.Policy(word); got != want || !ok {
				t.Fatalf("Policy(%q) = %d, %v; want %d, true", word, got, ok, want)
			}
		})
	}
	for _, word := range []string{"refuse", "", "Skip"} {
		t.Run("refuses "+word, func(t *testing.T) {
			if got, ok := w.Policy(word); got != Refuse || ok {
				t.Fatalf("Policy(%q) = %d, %v; want Refuse, false", word, got, ok)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name        string
		p           Policy
		renamable   bool
		unrenamable Verdict
		want        Verdict
	}{
		{"refuse", Refuse, true, Skipped, Refused},
		{"refuse, not renamable", Refuse, false, Skipped, Refused},
		{"skip", Skip, true, Refused, Skipped},
		{"skip, not renamable", Skip, false, Refused, Skipped},
		{"rename", Rename, true, Refused, Renamed},
		{"rename, not renamable, migration", Rename, false, Skipped, Skipped},
		{"rename, not renamable, bundle", Rename, false, Refused, Refused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Resolve(tc.renamable, tc.unrenamable); got != tc.want {
				t.Fatalf("Resolve = %d, want %d", got, tc.want)
			}
		})
	}
}
