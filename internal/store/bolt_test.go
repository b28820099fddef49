package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/store"
	"github.com/keywarden/keywarden/internal/store/storetest"
)

func openTemp(t *testing.T) *store.Bolt {
	t.Helper()
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), "keywarden.db"), store.BoltOptions{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestBoltConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestBoltDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keywarden.db")
	s, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var cmd store.Command
	cmd.Put("b", []byte("k"), []byte("v"))
	if err := s.Apply(context.Background(), cmd); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s, err = store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	err = s.View(func(r store.Reader) error {
		v, err := r.Get("b", []byte("k"))
		if err == nil && string(v) != "v" {
			t.Errorf("got %q after reopen; want %q", v, "v")
		}
		return err
	})
	if err != nil {
		t.Fatalf("get after reopen: %v", err)
	}
}

func TestBoltFileMode(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("store file mode %#o; want no group or other access", perm)
	}
}

func TestBoltLockedByAnotherOpener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keywarden.db")
	s, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()

	tests := []struct {
		name     string
		timeout  time.Duration
		min, max time.Duration
	}{
		// bbolt gives up one 50ms retry before the timeout.
		{"default timeout", 0, store.DefaultLockTimeout - 100*time.Millisecond, 5 * time.Second},
		{"short timeout", 100 * time.Millisecond, 0, store.DefaultLockTimeout - 100*time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := store.OpenBolt(path, store.BoltOptions{Timeout: tc.timeout})
			waited := time.Since(start)
			if !errors.Is(err, store.ErrInUse) {
				t.Fatalf("second open = %v; want ErrInUse", err)
			}
			if want := path + " is in use by another keywarden process"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if waited < tc.min || waited > tc.max {
				t.Errorf("gave up after %v; want between %v and %v", waited, tc.min, tc.max)
			}
		})
	}
}
