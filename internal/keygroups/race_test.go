package keygroups

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	kmip "github.com/ovh/kmip-go"
)

// importSet imports key group name with a fresh 32-byte key per alias of
// set (ParseAliasSet syntax), as a label bundle would; an alias in
// noMaterial gets no material.
func importSet(ctx context.Context, s *Service, name, set string, noMaterial ...string) error {
	aliases, err := ParseAliasSet(set)
	if err != nil {
		return err
	}
	ks := make([]ImportKey, len(aliases))
	for i, a := range aliases {
		ks[i] = ImportKey{Alias: a, Active: true}
		if !slices.Contains(noMaterial, a) {
			ks[i].Material = bytes.Repeat([]byte{byte(i + 1)}, 32)
		}
	}
	_, err = s.Import(ctx, name, ks)
	return err
}

// TestCreateImportRace runs two key group creations, a creation and an
// import, or two imports, that claim one name or one alias at once, many
// times: exactly one must win, the other must get the ErrExists a
// sequential duplicate gets, and every alias must belong to one key group.
func TestCreateImportRace(t *testing.T) {
	create := func(ctx context.Context, s *Service, name, set string) error {
		_, err := s.Create(ctx, name, set)
		return err
	}
	imp := func(ctx context.Context, s *Service, name, set string) error {
		return importSet(ctx, s, name, set)
	}
	// impHole imports without material for the alias it shares (c..03).
	impHole := func(ctx context.Context, s *Service, name, set string) error {
		return importSet(ctx, s, name, set, strings.Split(set, ",")[1])
	}
	type writer func(ctx context.Context, s *Service, name, set string) error
	groupTaken := func(r int) []string {
		return []string{fmt.Sprintf("%v: key group %q", ErrExists, fmt.Sprintf("g%d", r))}
	}
	aliasTaken := func(r int) []string {
		return []string{fmt.Sprintf("%v: alias %q", ErrExists, fmt.Sprintf("c%02x03", r)),
			fmt.Sprintf("%v: alias %q", ErrExists, fmt.Sprintf("C%02x03", r))}
	}
	sameName := func(prefix string) func(r int) (string, string) {
		return func(r int) (string, string) { return fmt.Sprintf("g%d", r), fmt.Sprintf("%s%02x01-04", prefix, r) }
	}
	// sharedA and sharedB share alias c..03, in another case.
	sharedA := func(r int) (string, string) { return fmt.Sprintf("x%d", r), fmt.Sprintf("c%02x01-04", r) }
	sharedB := func(r int) (string, string) { return fmt.Sprintf("y%d", r), fmt.Sprintf("d%02x01,C%02x03", r, r) }
	tests := []struct {
		name   string
		wa, wb writer
		// groups and alias sets of the two writers in round r.
		a, b func(r int) (string, string)
		// want are the messages the loser's error may have.
		want func(r int) []string
	}{
		{"two creations, same group name", create, create, sameName("a"), sameName("b"), groupTaken},
		{"two creations, shared alias", create, create, sharedA, sharedB, aliasTaken},
		{"import and create, same group name", imp, create, sameName("a"), sameName("b"), groupTaken},
		{"import and create, shared alias", imp, create, sharedA, sharedB, aliasTaken},
		{"import without that key's material and create, shared alias", impHole, create,
			func(r int) (string, string) { return fmt.Sprintf("x%d", r), fmt.Sprintf("c%02x01,c%02x03", r, r) },
			sharedB, aliasTaken},
		{"two imports, same group name", imp, imp, sameName("a"), sameName("b"), groupTaken},
		{"two imports, shared alias", imp, imp, sharedA, sharedB, aliasTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestService(t)
			ctx := context.Background()
			const rounds = 30
			for r := range rounds {
				var errs [2]error
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i, w := range []writer{tt.wa, tt.wb} {
					name, set := []func(int) (string, string){tt.a, tt.b}[i](r)
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						errs[i] = w(ctx, s, name, set)
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
					t.Fatalf("round %d: %d of 2 concurrent writes succeeded, want 1 (errors %v)", r, won, errs)
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
			if len(groups) != rounds {
				t.Fatalf("%d key groups after %d rounds, want %d", len(groups), rounds, rounds)
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
