package keygroups

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	kmip "github.com/ovh/kmip-go"
)

// TestConcurrentCreate runs two key group creations that claim one name or
// one alias at once, many times: exactly one must win, the other must get
// ErrExists, and every alias must belong to one key group.
func TestConcurrentCreate(t *testing.T) {
	tests := []struct {
		name string
		// groups and alias sets of the two writers in round r.
		a, b func(r int) (string, string)
		// want are the messages the loser's error may have (a sequential
		// duplicate's).
		want func(r int) []string
	}{
		{"same group name",
			func(r int) (string, string) { return fmt.Sprintf("g%d", r), fmt.Sprintf("a%02x01-04", r) },
			func(r int) (string, string) { return fmt.Sprintf("g%d", r), fmt.Sprintf("b%02x01-04", r) },
			func(r int) []string {
				return []string{fmt.Sprintf("%v: key group %q", ErrExists, fmt.Sprintf("g%d", r))}
			}},
		{"shared alias",
			func(r int) (string, string) { return fmt.Sprintf("x%d", r), fmt.Sprintf("c%02x01-04", r) },
			func(r int) (string, string) { return fmt.Sprintf("y%d", r), fmt.Sprintf("d%02x01,C%02x03", r, r) },
			func(r int) []string {
				return []string{fmt.Sprintf("%v: alias %q", ErrExists, fmt.Sprintf("c%02x03", r)),
					fmt.Sprintf("%v: alias %q", ErrExists, fmt.Sprintf("C%02x03", r))}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestService(t)
			ctx := context.Background()
			for r := range 30 {
				var errs [2]error
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i, f := range []func(int) (string, string){tt.a, tt.b} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						name, set := f(r)
						<-start
						_, errs[i] = s.Create(ctx, name, set)
					}()
				}
				close(start)
				wg.Wait()
				won := 0
				for _, err := range errs {
					switch {
					case err == nil:
						won++
					case errors.Is(err, ErrExists):
						if !slices.Contains(tt.want(r), err.Error()) {
							t.Fatalf("round %d: loser's error %q, want one of %q", r, err, tt.want(r))
						}
					default:
						t.Fatalf("round %d: %v", r, err)
					}
				}
				if won != 1 {
					t.Fatalf("round %d: %d of 2 concurrent key group creations succeeded, want 1 (errors %v)", r, won, errs)
				}
			}
			groups, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			owner := map[string]string{}
			for _, g := range groups {
				for _, a := range g.Aliases() {
					if o, ok := owner[strings.ToLower(a)]; ok {
						t.Fatalf("alias %q in key groups %q and %q", a, o, g.Name)
					}
					owner[strings.ToLower(a)] = g.Name
				}
			}
			if len(groups) != 30 {
				t.Fatalf("%d key groups after 30 rounds, want 30", len(groups))
			}
		})
	}
}

// TestStaleClaims checks that the name and aliases of a key group that has
// no keys any more (its keys moved to another group and renamed) can be
// taken again, though their claims stay behind.
func TestStaleClaims(t *testing.T) {
	s, m := newTestService(t)
	ctx := context.Background()
	g, err := s.Create(ctx, "old", "e01-02")
	if err != nil {
		t.Fatal(err)
	}
	all := scope(ctx)
	for i, k := range g.Keys {
		if _, err := m.ModifyAttribute(all, k.ObjectID, textAttr(AttrKeyGroup, "moved")); err != nil {
			t.Fatal(err)
		}
		if _, err := m.ModifyAttribute(all, k.ObjectID, kmip.Attribute{AttributeName: kmip.AttributeNameName,
			AttributeValue: kmip.Name{NameValue: fmt.Sprintf("f%02d", i+1), NameType: kmip.NameTypeUninterpretedTextString}}); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := m.ReadClaims(aliasClaimSpace, "e02"); err != nil || !c[0].Held() || c[0].Owner != "old" {
		t.Fatalf("claim of e02: %+v %v", c, err)
	}
	if _, err := s.Create(ctx, "old", "e01-02"); err != nil {
		t.Fatalf("name and aliases of a group without keys: %v", err)
	}
	// The moved keys now hold f01 and f02 in group "moved".
	if _, err := s.Create(ctx, "other", "F02"); !errors.Is(err, ErrExists) {
		t.Fatalf("alias of the moved key: %v", err)
	}
	if _, err := s.Create(ctx, "old", "g01"); !errors.Is(err, ErrExists) {
		t.Fatalf("name of the new group: %v", err)
	}
}
