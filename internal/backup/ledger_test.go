package backup

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLedger(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	l, err := OpenLedger(srv.st, srv.b)
	if err != nil {
		t.Fatal(err)
	}
	snap := time.Date(2026, 11, 25, 12, 0, 0, 500_000_000, time.UTC)
	if err := l.Covers(snap.Add(-time.Hour)); !errors.Is(err, ErrNotBackedUp) {
		t.Fatalf("before any backup: %v, want ErrNotBackedUp", err)
	}
	if err := l.Record(ctx, LastBackup{Snapshot: snap, Node: "n1"}); err != nil {
		t.Fatal(err)
	}
	// An older record does not replace a newer one.
	if err := l.Record(ctx, LastBackup{Snapshot: snap.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	reopened, err := OpenLedger(srv.st, srv.b)
	if err != nil {
		t.Fatal(err)
	}
	if got := reopened.Last(); !got.Snapshot.Equal(snap) || got.Node != "n1" {
		t.Fatalf("reopened ledger: %+v", got)
	}
	for _, tc := range []struct {
		name    string
		created time.Time
		covered bool
	}{
		{"an hour before", snap.Add(-time.Hour), true},
		{"the second before", snap.Truncate(time.Second).Add(-time.Second), true},
		{"the snapshot's second", snap.Truncate(time.Second), false},
		{"after", snap.Add(time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := reopened.Covers(tc.created)
			if tc.covered != (err == nil) || (err != nil && !errors.Is(err, ErrNotBackedUp)) {
				t.Fatalf("Covers(%s) = %v, covered want %v", tc.created, err, tc.covered)
			}
		})
	}
}

// TestLedgerSharedStore: two ledgers over one store stand for two nodes of
// a cluster (the store is replicated, each node's cache is not): a backup
// recorded by one is seen by the other before it refuses a key, and an
// older record from a stale node does not replace it.
func TestLedgerSharedStore(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	a, err := OpenLedger(srv.st, srv.b)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenLedger(srv.st, srv.b)
	if err != nil {
		t.Fatal(err)
	}
	snap := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	created := snap.Add(-time.Minute)
	if err := b.Covers(created); !errors.Is(err, ErrNotBackedUp) {
		t.Fatalf("before any backup: %v", err)
	}
	if err := a.Record(ctx, LastBackup{Snapshot: snap, Node: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Covers(created); err != nil {
		t.Fatalf("after node a's backup, node b: %v", err)
	}
	if got := b.Last(); !got.Snapshot.Equal(snap) || got.Node != "a" {
		t.Fatalf("node b's last backup %+v", got)
	}
	c, err := OpenLedger(srv.st, srv.b)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Record(ctx, LastBackup{Snapshot: snap.Add(time.Hour), Node: "a"}); err != nil {
		t.Fatal(err)
	}
	// c's cache holds snap; its older record must not win.
	if err := c.Record(ctx, LastBackup{Snapshot: snap.Add(time.Minute), Node: "c"}); err != nil {
		t.Fatal(err)
	}
	reopened, err := OpenLedger(srv.st, srv.b)
	if err != nil {
		t.Fatal(err)
	}
	if got := reopened.Last(); !got.Snapshot.Equal(snap.Add(time.Hour)) {
		t.Fatalf("stored last backup %+v, want the later one", got)
	}
	// b has not read the store since a's second backup: Last still says
	// the first, Latest reads the store.
	if got := b.Last(); !got.Snapshot.Equal(snap) {
		t.Fatalf("node b's cached last backup %+v, want the first", got)
	}
	if got := b.Latest(); !got.Snapshot.Equal(snap.Add(time.Hour)) || got.Node != "a" {
		t.Fatalf("node b's latest backup %+v, want node a's second", got)
	}
}
