package importer

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// journal records what steps and undos ran.
type journal struct{ ran []string }

func (j *journal) step(kind, name string, fail, undo, undoFails bool) Step {
	return Step{Kind: kind, Name: name, Do: func(ctx context.Context) (Undo, error) {
		if fail {
			return nil, errors.New("write " + name + " failed")
		}
		j.ran = append(j.ran, "do "+name)
		if !undo {
			return nil, nil
		}
		return func(ctx context.Context) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if undoFails {
				return errors.New("undo " + name + " failed")
			}
			j.ran = append(j.ran, "undo "+name)
			return nil
		}, nil
	}}
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		steps    func(j *journal) []Step
		wantRan  []string
		wantFail string // "kind name" of the failed step, "" for none
		wantLeft []string
	}{
		{"every step", func(j *journal) []Step {
			return []Step{j.step("group", "g", false, true, false), j.step("label", "l", false, true, false)}
		}, []string{"do g", "do l"}, "", nil},
		{"a failure undoes the writes before it, latest first", func(j *journal) []Step {
			return []Step{j.step("group", "g", false, true, false), j.step("label", "l", false, true, false),
				j.step("keygroup", "k", true, true, false), j.step("device", "d", false, true, false)}
		}, []string{"do g", "do l", "undo l", "undo g"}, "keygroup k", nil},
		{"a step without undo stays", func(j *journal) []Step {
			return []Step{j.step("label", "l", false, false, false), j.step("keygroup", "k", true, true, false)}
		}, []string{"do l"}, "keygroup k", nil},
		{"a failed undo is left", func(j *journal) []Step {
			return []Step{j.step("group", "g", false, true, false), j.step("device", "d", false, true, true),
				j.step("usage", "records", true, false, false)}
		}, []string{"do g", "do d", "undo g"}, "usage records", []string{"device d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The undo runs even when the request's context has ended.
			ctx, cancel := context.WithCancel(context.Background())
			j := &journal{}
			steps := tc.steps(j)
			if tc.wantFail != "" {
				for i, s := range steps {
					if s.Kind+" "+s.Name == tc.wantFail {
						do := s.Do
						steps[i].Do = func(ctx context.Context) (Undo, error) { cancel(); return do(ctx) }
					}
				}
			}
			f := Run(ctx, steps)
			cancel()
			if !slices.Equal(j.ran, tc.wantRan) {
				t.Fatalf("ran %v, want %v", j.ran, tc.wantRan)
			}
			if tc.wantFail == "" {
				if f != nil {
					t.Fatalf("failure %+v", f)
				}
				return
			}
			if f == nil || f.Kind+" "+f.Name != tc.wantFail || f.Err == nil {
				t.Fatalf("failure %+v, want %s", f, tc.wantFail)
			}
			if !slices.Equal(f.Left, tc.wantLeft) || len(f.Errs) != len(f.Left) {
				t.Fatalf("left %v (errs %v), want %v", f.Left, f.Errs, tc.wantLeft)
			}
		})
	}
}
