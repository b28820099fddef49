package importer

import (
	"context"
)

// Undo compensates one write of an import.
type Undo func(ctx context.Context) error

// Step is one write of an import.
type Step struct {
	// Kind and Name say what is written ("label", "SHARED"); a Failure
	// and the undo log name a step by them.
	Kind, Name string
	// Do writes. The Undo it returns, when not nil, compensates the write
	// if a later step fails.
	Do func(ctx context.Context) (Undo, error)
}

// Failure is a failed Run: the step that failed, its cause, and the
// writes whose undo failed.
type Failure struct {
	Kind, Name string
	Err        error
	// Left names ("kind name") the writes whose undo failed, latest
	// first; Errs holds their errors in the same order.
	Left []string
	Errs []error
}

// Run performs steps in order. When a step fails it runs the undos of the writes before it,
// latest first, on a context that ignores ctx's cancellation (an undo must
// run even when the request ended), and returns the Failure; nil when
// every step succeeded.
func Run(ctx context.Context, steps []Step) *Failure {
	type undone struct {
		what string
		fn   Undo
	}
	var undos []undone
	for _, s := range steps {
		u, err := s.Do(ctx)
		if err != nil {
			f := &Failure{Kind: s.Kind, Name: s.Name, Err: err}
			uctx := context.WithoutCancel(ctx)
			for i := len(undos) - 1; i >= 0; i-- {
				if err := undos[i].fn(uctx); err != nil {
					f.Left = append(f.Left, undos[i].what)
					f.Errs = append(f.Errs, err)
				}
			}
			return f
		}
		if u != nil {
			undos = append(undos, undone{s.Kind + " " + s.Name, u})
		}
	}
	return nil
}
