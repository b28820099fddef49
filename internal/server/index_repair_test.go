package server_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/store"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestStartRepairsIndex: a server start brings the attribute index to
// keys.IndexVersion (keys.Manager.RepairIndex), so that the next repair
// finds it done.
func TestStartRepairsIndex(t *testing.T) {
	dir := t.TempDir()
	env := testenv.Start(t, testenv.WithDataDir(dir))
	if err := env.Server.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mk, err := barrier.OpenMasterKeyWith(dir, barrier.MasterKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := mk.(io.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	st, err := store.OpenBolt(filepath.Join(dir, server.StoreFile), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b, err := barrier.New(context.Background(), st, mk, barrier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.New(keys.Options{Store: st, Barrier: b})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := km.RepairIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.AlreadyDone {
		t.Errorf("repair after a server start = %+v, want already done", rep)
	}
}
