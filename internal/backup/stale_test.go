package backup

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRemoveStale removes only the backup's temporary copies.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".backup-123.db")
	keep := []string{filepath.Join(dir, "keywarden.db"), filepath.Join(dir, "backup-notes.db")}
	for _, p := range append([]string{stale}, keep...) {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveStale(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != stale {
		t.Fatalf("removed %v, want only %s", removed, stale)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale copy still there: %v", err)
	}
	for _, p := range keep {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s removed: %v", p, err)
		}
	}
}
