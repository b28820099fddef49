package keys

import (
	"context"
	"errors"
	"testing"

	"github.com/ovh/kmip-go"
)

// TestClaims checks that a claim is written with its object only while it
// is as read, and that a journal's undo puts back the claim it replaced.
func TestClaims(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	read := func(name string) Claim {
		t.Helper()
		c, err := m.ReadClaims("space", name)
		if err != nil {
			t.Fatal(err)
		}
		return c[0]
	}
	count := func() int {
		t.Helper()
		ids, _, err := m.Locate(ctx, LocateQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return len(ids)
	}

	t.Run("absent then taken", func(t *testing.T) {
		c := read("a")
		if c.Held() || c.Owner != "" {
			t.Fatalf("unclaimed name reads %+v", c)
		}
		o, err := m.CreateClaiming(ctx, []Claim{c}, "", kmip.ObjectTypeSymmetricKey, aesAttrs("a"))
		if err != nil {
			t.Fatal(err)
		}
		if got := read("a"); !got.Held() || got.Owner != o.ID {
			t.Fatalf("claim after the write: %+v, want owner %s", got, o.ID)
		}
		// The same read claim again: the second writer loses, and
		// writes nothing.
		n := count()
		_, err = m.CreateClaiming(ctx, []Claim{c}, "", kmip.ObjectTypeSymmetricKey, aesAttrs("a"))
		if !errors.Is(err, ErrClaimed) {
			t.Fatalf("second writer: %v, want ErrClaimed", err)
		}
		if count() != n {
			t.Fatal("the losing writer wrote its object")
		}
	})
	t.Run("taken over and undone", func(t *testing.T) {
		held := read("a")
		var j Journal
		o, err := m.CreateClaiming(WithJournal(ctx, &j), []Claim{held, read("b")}, "group", kmip.ObjectTypeSymmetricKey, aesAttrs("b"))
		if err != nil {
			t.Fatal(err)
		}
		if got := read("a"); got.Owner != "group" {
			t.Fatalf("claim taken over: %+v", got)
		}
		if err := m.Undo(ctx, &j); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Get(ctx, o.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("undone object: %v", err)
		}
		if got := read("a"); got.Owner != held.Owner || !got.Held() {
			t.Fatalf("claim after undo: %+v, want owner %q", got, held.Owner)
		}
		if got := read("b"); got.Held() {
			t.Fatalf("claim written by the undone write: %+v", got)
		}
	})
	t.Run("not read", func(t *testing.T) {
		if _, err := m.CreateClaiming(ctx, []Claim{{Space: "space", Name: "c"}}, "", kmip.ObjectTypeSymmetricKey, aesAttrs("c")); err == nil {
			t.Fatal("a claim not read with ReadClaims was written")
		}
	})
}
