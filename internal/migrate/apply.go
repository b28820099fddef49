package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/keywarden/keywarden/internal/importer"
)

// Summary counts what Apply did, by kind of object.
type Summary struct {
	Created   map[string]int `json:"created"`
	Identical map[string]int `json:"identical"`
	Skipped   map[string]int `json:"skipped"` // conflicts left as they are (--on-conflict skip)
	Renamed   map[string]int `json:"renamed"`
	// UsageImported counts the metadata events stored.
	UsageImported int `json:"usage_imported"`
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Progress is called after each write with the writes done and the
	// total; nil reports nothing.
	Progress func(done, total int)
	// Logger receives the steps and any undo failure; nil discards.
	Logger *slog.Logger
}

// ErrUndone reports a failed migration whose writes were undone; the
// message says which step failed. ErrPartial reports one whose undo failed
// too: the message names what is left.
var (
	ErrUndone  = errors.New("migrate: migration failed and was undone")
	ErrPartial = errors.New("migrate: migration failed and could not be fully undone")
)

// StepError is a failed Apply: the step that failed, its cause, and what
// the undo could not remove. It matches ErrUndone or ErrPartial.
type StepError struct {
	Kind, Name string
	Err        error
	// Left names the writes the undo could not remove.
	Left []string
}

// Error describes the failure and its undo.
func (e *StepError) Error() string {
	if len(e.Left) > 0 {
		return fmt.Sprintf("%v: %s %s: %v; left on the server: %s", ErrPartial, e.Kind, e.Name, e.Err, strings.Join(e.Left, ", "))
	}
	return fmt.Sprintf("%v: %s %s: %v", ErrUndone, e.Kind, e.Name, e.Err)
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// Is matches ErrUndone or ErrPartial.
func (e *StepError) Is(target error) bool {
	return target == ErrPartial && len(e.Left) > 0 || target == ErrUndone && len(e.Left) == 0
}

// Apply writes the plan: device groups, default labels, devices, labels,
// key groups, then the usage records in one store command (all or none).
// When a step fails, every write before it is undone in reverse order —
// groups and devices deleted, default labels restored, the objects of
// labels and key groups revoked and destroyed (a destroyed label's name is
// free again; a destroyed key group keeps its name and aliases) — and the
// error matches
// ErrUndone, or ErrPartial naming what could not be undone. A plan with
// conflicts under Fail must not be applied: NewPlan returned an error.
func (p *Plan) Apply(ctx context.Context, t Target, opts ApplyOptions) (Summary, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sum := Summary{Created: map[string]int{}, Identical: map[string]int{}, Skipped: map[string]int{}, Renamed: map[string]int{}}
	total, done := p.Writes(), 0
	step := func() {
		done++
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
	}
	wrote := func(kind, name string, verb Verb) {
		if verb == Renamed {
			sum.Renamed[kind]++
		} else {
			sum.Created[kind]++
		}
		log.Info("migrate: written", "kind", kind, "name", name, "verb", string(verb))
		step()
	}
	// Cleanly undone steps first (groups, defaults, devices); labels and
	// key groups, undone only by retiring their objects, after them; the
	// usage records, which cannot be undone, last.
	var steps []importer.Step
	order := []string{"group", "defaults", "device", "label", "partner", "keygroup"}
	for _, kind := range order {
		for _, it := range p.Items {
			if it.Kind != kind {
				continue
			}
			switch it.Verb {
			case Identical:
				sum.Identical[kind]++
				continue
			case Conflict:
				sum.Skipped[kind]++
				continue
			}
			steps = append(steps, importer.Step{Kind: kind, Name: it.Name, Do: func(ctx context.Context) (importer.Undo, error) {
				u, err := p.write(ctx, t, it)
				if err == nil {
					wrote(kind, it.Name, it.Verb)
				}
				return u, err
			}})
		}
	}
	if len(p.Usage) > 0 {
		steps = append(steps, importer.Step{Kind: "usage", Name: "records", Do: func(ctx context.Context) (importer.Undo, error) {
			n, err := t.ImportUsage(ctx, p.Usage)
			if err != nil {
				return nil, err
			}
			sum.UsageImported = n
			sum.Created["usage"] = n
			step()
			return nil, nil
		}})
	}
	if f := importer.Run(ctx, steps); f != nil {
		for i, what := range f.Left {
			log.Error("migrate: undo failed", "object", what, "err", f.Errs[i])
		}
		return sum, &StepError{Kind: f.Kind, Name: f.Name, Err: f.Err, Left: f.Left}
	}
	if p.UsageKnown > 0 {
		sum.Identical["usage"] = p.UsageKnown
	}
	return sum, nil
}

// write performs one item and returns how to undo it.
func (p *Plan) write(ctx context.Context, t Target, it Item) (importer.Undo, error) {
	retire := func(ids []string) importer.Undo {
		return func(ctx context.Context) error { return t.Retire(ctx, ids) }
	}
	switch it.Kind {
	case "group":
		g := it.group
		if err := t.CreateGroup(ctx, g.Name, g.Family, g.Alias1, g.Alias2); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return t.DeleteGroup(ctx, g.Name) }, nil
	case "label", "partner":
		lb := *it.label
		lb.Name = it.Name
		ids, err := t.ImportLabel(ctx, lb)
		if err != nil {
			return nil, err
		}
		return retire(ids), nil
	case "defaults":
		if err := t.SetGroupLabels(ctx, it.Name, it.defaults[0], it.defaults[1]); err != nil {
			return nil, err
		}
		name, prev := it.Name, *it.prev
		return func(ctx context.Context) error { return t.SetGroupLabels(ctx, name, prev[0], prev[1]) }, nil
	case "device":
		id, err := t.AddDevice(ctx, *it.drive)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return t.DeleteDevice(ctx, id) }, nil
	case "keygroup":
		ids, err := t.CreateKeyGroup(ctx, it.keyGroup.Name, it.keyGroup.Aliases)
		if err != nil {
			return nil, err
		}
		return retire(ids), nil
	}
	return nil, fmt.Errorf("migrate: unknown item kind %q", it.Kind)
}
