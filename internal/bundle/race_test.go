package bundle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/labels"
)

// racingWriter does the real writes; its key group write starts, at the
// same moment, rival: a write that wants the same name or alias.
type racingWriter struct {
	real  writer
	rival func()
	done  chan struct{}
}

func (w *racingWriter) label(ctx context.Context, as string, l Label) (labels.Removal, error) {
	return w.real.label(ctx, as, l)
}

func (w *racingWriter) keyGroup(ctx context.Context, g KeyGroup) (string, []string, error) {
	start := make(chan struct{})
	go func() {
		defer close(w.done)
		<-start
		w.rival()
	}()
	close(start)
	return w.real.keyGroup(ctx, g)
}

// TestApplyKeyGroupRace imports a bundle's key group while `keygroup
// create` makes a group of the same name, or with one of its aliases, many
// times. Both have been checked free (the import planned its write), so
// the store decides: exactly one must win; a losing import fails with the
// ErrExists a sequential duplicate gets, writing nothing, and every alias
// must belong to one key group.
func TestApplyKeyGroupRace(t *testing.T) {
	tests := []struct {
		name string
		// the bundle's group and the created one in round r.
		imported func(r int) KeyGroup
		created  func(r int) (string, string)
		// want are the ErrExists messages the loser may get.
		want func(r int) []string
	}{
		{"same group name",
			func(r int) KeyGroup {
				return testGroup(fmt.Sprintf("g%d", r), fmt.Sprintf("a%02x01", r), fmt.Sprintf("a%02x02", r))
			},
			func(r int) (string, string) { return fmt.Sprintf("g%d", r), fmt.Sprintf("b%02x01-03", r) },
			func(r int) []string {
				return []string{fmt.Sprintf("%v: key group %q", keygroups.ErrExists, fmt.Sprintf("g%d", r))}
			}},
		{"shared alias",
			func(r int) KeyGroup {
				return testGroup(fmt.Sprintf("x%d", r), fmt.Sprintf("c%02x01", r), fmt.Sprintf("c%02x02", r), fmt.Sprintf("c%02x03", r))
			},
			func(r int) (string, string) { return fmt.Sprintf("y%d", r), fmt.Sprintf("d%02x01,C%02x03", r, r) },
			func(r int) []string {
				return []string{fmt.Sprintf("%v: alias %q", keygroups.ErrExists, fmt.Sprintf("c%02x03", r)),
					fmt.Sprintf("%v: alias %q", keygroups.ErrExists, fmt.Sprintf("C%02x03", r))}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ctx := context.Background()
			const rounds = 25
			for r := range rounds {
				g := tt.imported(r)
				var createErr error
				w := &racingWriter{real: serviceWriter{ts.s}, done: make(chan struct{})}
				w.rival = func() {
					name, set := tt.created(r)
					_, createErr = ts.s.KeyGroups.Create(ctx, name, set)
				}
				_, importErr := apply(ctx, ts.s, &Contents{KeyGroups: []KeyGroup{g}}, ImportOptions{}, w)
				<-w.done
				switch {
				case importErr == nil && errors.Is(createErr, keygroups.ErrExists):
					if !slices.Contains(tt.want(r), createErr.Error()) {
						t.Fatalf("round %d: create's error %q, want one of %q", r, createErr, tt.want(r))
					}
				case createErr == nil:
					var ie *ImportError
					if !errors.As(importErr, &ie) || !errors.Is(importErr, ErrUndone) || !errors.Is(importErr, keygroups.ErrExists) {
						t.Fatalf("round %d: import: %v, want an undone ImportError of keygroups.ErrExists", r, importErr)
					}
					if !slices.Contains(tt.want(r), ie.Err.Error()) || len(ie.Written) != 0 {
						t.Fatalf("round %d: import failed with %q, wrote %v; want one of %q, nothing written", r, ie.Err, ie.Written, tt.want(r))
					}
				default:
					t.Fatalf("round %d: import: %v; create: %v; want exactly one to succeed", r, importErr, createErr)
				}
			}
			groups, err := ts.s.KeyGroups.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var all []string // every alias, in lower case
			for _, g := range groups {
				for _, a := range g.Aliases() {
					all = append(all, strings.ToLower(a))
				}
			}
			slices.Sort(all)
			if len(slices.Compact(slices.Clone(all))) != len(all) {
				t.Fatalf("an alias is in two key groups: %q", all)
			}
			if len(groups) != rounds {
				t.Fatalf("%d key groups after %d rounds, want %d", len(groups), rounds, rounds)
			}
		})
	}
}
