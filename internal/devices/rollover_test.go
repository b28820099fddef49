package devices

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRolloverTakesEffectAtItsTime schedules two rollovers and moves the
// registry's clock past each: the defaults change exactly then, for Group
// and Groups alike, and survive a reopen of the store.
func TestRolloverTakesEffectAtItsTime(t *testing.T) {
	ctx := context.Background()
	r, env := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "tapes", Family: Family3592, Alias1: "old1", Alias2: "old2", KeyGroup: "kg1"})
	t0 := env.clock.Now()

	g, err := r.ScheduleRollover(ctx, "tapes", Rollover{At: t0.Add(2 * time.Hour), Alias1: "new1b"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Alias1 != "old1" || len(g.Rollovers) != 1 {
		t.Fatalf("after scheduling a future rollover: %+v", g)
	}
	// Scheduled second, but earlier: the schedule is kept in time order.
	g, err = r.ScheduleRollover(ctx, "TAPES", Rollover{At: t0.Add(time.Hour), Alias1: "new1", Alias2: "new2", KeyGroup: "kg2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Rollovers) != 2 || !g.Rollovers[0].At.Equal(t0.Add(time.Hour)) || g.Rollovers[0].Scheduled.IsZero() {
		t.Fatalf("schedule = %+v", g.Rollovers)
	}

	steps := []struct {
		name               string
		advance            time.Duration
		alias1, alias2, kg string
		pending            int
	}{
		{"before the first", 59 * time.Minute, "old1", "old2", "kg1", 2},
		{"at the first", time.Minute, "new1", "new2", "kg2", 1},
		{"between", 30 * time.Minute, "new1", "new2", "kg2", 1},
		{"at the second (alias1 only)", 30 * time.Minute, "new1b", "new2", "kg2", 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			env.clock.Advance(st.advance)
			g, err := r.Group("tapes")
			if err != nil {
				t.Fatal(err)
			}
			if g.Alias1 != st.alias1 || g.Alias2 != st.alias2 || g.KeyGroup != st.kg || len(g.Rollovers) != st.pending {
				t.Fatalf("Group = alias1 %q alias2 %q key group %q, %d pending; want %q %q %q, %d",
					g.Alias1, g.Alias2, g.KeyGroup, len(g.Rollovers), st.alias1, st.alias2, st.kg, st.pending)
			}
			all, err := r.Groups()
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range all {
				if x.Name == "tapes" && (x.Alias1 != st.alias1 || len(x.Rollovers) != st.pending) {
					t.Fatalf("Groups shows %+v", x)
				}
			}
		})
	}

	env.close(t)
	r = env.open(t, Options{})
	g, err = r.Group("tapes")
	if err != nil {
		t.Fatal(err)
	}
	if g.Alias1 != "new1b" || g.Alias2 != "new2" || g.KeyGroup != "kg2" {
		t.Fatalf("after reopening: %+v", g)
	}
}

// TestRolloverCompaction checks that a change to the group writes the
// rollovers that took effect into the record and drops them.
func TestRolloverCompaction(t *testing.T) {
	ctx := context.Background()
	r, env := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "tapes", Family: Family3592, Alias1: "old1", Alias2: "old2"})
	if _, err := r.ScheduleRollover(ctx, "tapes", Rollover{At: env.clock.Now().Add(time.Minute), Alias2: "new2"}); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(time.Minute)
	g, err := r.ModifyGroup(ctx, "tapes", func(g *Group) error { g.Unknown = PolicyReject; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if g.Alias2 != "new2" || len(g.Rollovers) != 0 {
		t.Fatalf("after modify: %+v", g)
	}
	var stored Group
	err = r.read(func(v view) error {
		_, found, err := v.record(bucketGroups, r.groupKey("tapes"), &stored)
		if err == nil && !found {
			err = fmt.Errorf("group record missing")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if stored.Alias2 != "new2" || len(stored.Rollovers) != 0 {
		t.Fatalf("stored record not compacted: %+v", stored)
	}
}

func TestRolloverImmediate(t *testing.T) {
	ctx := context.Background()
	r, env := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "tapes", Family: Family3592, Alias1: "old1", Alias2: "old2"})
	g, err := r.ScheduleRollover(ctx, "tapes", Rollover{At: env.clock.Now().Add(-time.Hour), Alias1: "new1", Alias2: "new2"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Alias1 != "new1" || g.Alias2 != "new2" || len(g.Rollovers) != 0 {
		t.Fatalf("a rollover in the past did not take effect at once: %+v", g)
	}
}

func TestRolloverRefused(t *testing.T) {
	ctx := context.Background()
	r, env := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "tapes", Family: Family3592})
	future := env.clock.Now().Add(time.Hour)
	tests := []struct {
		name    string
		group   string
		ro      Rollover
		want    error
		wantMsg string
	}{
		{"no time", "tapes", Rollover{Alias1: "a"}, ErrInvalid, "a time is required"},
		{"nothing to change", "tapes", Rollover{At: future}, ErrInvalid, "give alias1, alias2 or a key group"},
		{"bad alias", "tapes", Rollover{At: future, Alias1: "a b"}, ErrInvalid, "rollover alias1"},
		{"long key group", "tapes", Rollover{At: future, KeyGroup: strings.Repeat("k", 65)}, ErrInvalid, "at most 64"},
		{"unknown group", "nosuch", Rollover{At: future, Alias1: "a"}, ErrNotFound, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.ScheduleRollover(ctx, tt.group, tt.ro)
			wantErr(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
	t.Run("too many", func(t *testing.T) {
		for i := range MaxRollovers {
			if _, err := r.ScheduleRollover(ctx, "tapes", Rollover{At: future.Add(time.Duration(i) * time.Minute), Alias1: "a"}); err != nil {
				t.Fatal(err)
			}
		}
		// The same time replaces, so it still fits.
		if _, err := r.ScheduleRollover(ctx, "tapes", Rollover{At: future, Alias1: "b"}); err != nil {
			t.Fatalf("replacing a scheduled rollover: %v", err)
		}
		_, err := r.ScheduleRollover(ctx, "tapes", Rollover{At: future.Add(-time.Minute), Alias1: "a"})
		wantErr(t, err, ErrInvalid)
		g, err := r.Group("tapes")
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Rollovers) != MaxRollovers || g.Rollovers[0].Alias1 != "b" {
			t.Fatalf("schedule has %d entries, first %+v", len(g.Rollovers), g.Rollovers[0])
		}
	})
}

func TestCancelRollover(t *testing.T) {
	ctx := context.Background()
	r, env := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "tapes", Family: Family3592, Alias1: "old1", Alias2: "old2"})
	at := env.clock.Now().Add(time.Hour)
	if _, err := r.ScheduleRollover(ctx, "tapes", Rollover{At: at, Alias1: "new1"}); err != nil {
		t.Fatal(err)
	}
	_, err := r.CancelRollover(ctx, "tapes", at.Add(time.Second))
	wantErr(t, err, ErrNotFound)
	g, err := r.CancelRollover(ctx, "tapes", at.Add(999*time.Millisecond)) // same second
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Rollovers) != 0 {
		t.Fatalf("after cancel: %+v", g.Rollovers)
	}
	env.clock.Advance(2 * time.Hour)
	if g, err = r.Group("tapes"); err != nil || g.Alias1 != "old1" {
		t.Fatalf("a cancelled rollover took effect: %+v, %v", g, err)
	}
}
