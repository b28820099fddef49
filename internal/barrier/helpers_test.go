package barrier

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/keywarden/keywarden/internal/store"
)

// newStore opens a real bbolt store in a temporary directory.
func newStore(t testing.TB) *store.Bolt {
	t.Helper()
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), "keywarden.db"), store.BoltOptions{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newFileKey creates a master key in the clear in a temporary directory.
func newFileKey(t testing.TB) MasterKey {
	t.Helper()
	mk, err := CreateMasterKey(t.TempDir(), "")
	if err != nil {
		t.Fatalf("create master key: %v", err)
	}
	return mk
}

// newBarrier builds a barrier over s or fails the test.
func newBarrier(t testing.TB, s store.Store, mk MasterKey, opts Options) *Barrier {
	t.Helper()
	b, err := New(context.Background(), s, mk, opts)
	if err != nil {
		t.Fatalf("new barrier: %v", err)
	}
	return b
}

// countingStore counts the commands applied through it.
type countingStore struct {
	store.Store
	applied   atomic.Int64 // successful Apply calls
	conflicts atomic.Int64
}

func (c *countingStore) Apply(ctx context.Context, cmd store.Command) error {
	err := c.Store.Apply(ctx, cmd)
	switch {
	case err == nil:
		c.applied.Add(1)
	case errorsIsConflict(err):
		c.conflicts.Add(1)
	}
	return err
}

func errorsIsConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
