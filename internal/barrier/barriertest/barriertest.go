// Package barriertest gives tests a sealed store: a real bbolt file in a
// temporary directory and a barrier over it under a fresh file master key,
// as a data directory has after `keywarden init`.
package barriertest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/store"
)

// Sealed is a data directory opened for a test.
type Sealed struct {
	// Dir is the data directory (a t.TempDir).
	Dir string
	// MasterKey is the file master key created in Dir.
	MasterKey barrier.MasterKey
	// Store is Dir/keywarden.db, closed when the test ends.
	Store *store.Bolt
	// Barrier seals values of Store under MasterKey.
	Barrier *barrier.Barrier
}

// New creates a master key and a store in a fresh temporary directory and
// opens a barrier over them; any failure ends the test.
func New(t testing.TB) Sealed {
	t.Helper()
	return In(t, t.TempDir())
}

// In is New in the directory dir, which must exist.
func In(t testing.TB, dir string) Sealed {
	t.Helper()
	mk, err := barrier.CreateMasterKey(dir, "")
	if err != nil {
		t.Fatalf("barriertest: create master key: %v", err)
	}
	st, err := store.OpenBolt(filepath.Join(dir, "keywarden.db"), store.BoltOptions{})
	if err != nil {
		t.Fatalf("barriertest: open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	b, err := barrier.New(context.Background(), st, mk, barrier.Options{})
	if err != nil {
		t.Fatalf("barriertest: open barrier: %v", err)
	}
	return Sealed{Dir: dir, MasterKey: mk, Store: st, Barrier: b}
}
