package bundle

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/importer"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/labels"
)

// Kinds of a Write and an Outcome.
const (
	KindLabel    = "label"
	KindKeyGroup = "keygroup"
)

// Write names one write of an import: a label or a key group, by its name
// in the bundle.
type Write struct {
	Kind string `json:"kind"` // KindLabel or KindKeyGroup
	Name string `json:"name"`
	// As is a renamed label's name on this server.
	As string `json:"as,omitempty"`
	// Detail says, for a write left on the server, why it was not undone.
	Detail string `json:"detail,omitempty"`
}

// String reads `label "L1"`, `label "L2" (as "L2_IMPORTED")` or
// `key group "G1"`.
func (w Write) String() string {
	kind := w.Kind
	if kind == KindKeyGroup {
		kind = "key group"
	}
	s := fmt.Sprintf("%s %q", kind, w.Name)
	if w.As != "" && w.As != w.Name {
		s += fmt.Sprintf(" (as %q)", w.As)
	}
	return s
}

// Details of the writes a failed import leaves.
const (
	// DetailKeyGroupKept: key groups carry no undo. Undoing one would
	// revoke and destroy its keys, which keeps its name and aliases taken
	// (tapes record them), so a retry would conflict with it; it is left
	// as imported instead, for the administrator to keep or retire.
	DetailKeyGroupKept = "key groups are not undone: retiring one would keep its name and aliases taken"
	// DetailChanged: the label changed after the import (served to a
	// drive, an attribute set), so removing it could lose that change.
	DetailChanged = "not removed: the label changed since the import"
	// DetailUndoFailed: the removal failed; the cause is in the server log.
	DetailUndoFailed = "not removed: the removal failed (see the server log)"
)

// ErrUndone reports a failed import whose writes were all undone: the
// server holds what it held before. ErrPartial reports one that left
// writes on the server: ImportError.Left names them.
var (
	ErrUndone  = errors.New("bundle: import failed and was undone")
	ErrPartial = errors.New("bundle: import failed and could not be fully undone")
)

// ImportError is a write of Apply that failed, and what became of the
// writes before it: labels are removed again (undone), key groups stay.
// It matches ErrUndone when nothing is left, else ErrPartial.
type ImportError struct {
	// Failed is the write that failed; Err its cause.
	Failed Write
	Err    error
	// Written are the writes done before the failure, in order (the
	// failed key group too, when some of its keys were written).
	Written []Write
	// Undone are the writes removed again, in order.
	Undone []Write
	// Left are the writes still on the server, each with its Detail.
	Left []Write
}

// Error names the failed write, its cause, what was undone and what is
// left.
func (e *ImportError) Error() string {
	if len(e.Left) == 0 {
		msg := fmt.Sprintf("%v: %s: %v", ErrUndone, e.Failed, e.Err)
		if len(e.Undone) > 0 {
			msg += "; undone: " + joinWrites(e.Undone, false)
		}
		return msg
	}
	msg := fmt.Sprintf("%v: %s: %v", ErrPartial, e.Failed, e.Err)
	if len(e.Undone) > 0 {
		msg += "; undone: " + joinWrites(e.Undone, false)
	}
	return msg + "; left on this server: " + joinWrites(e.Left, true)
}

// Unwrap returns the cause.
func (e *ImportError) Unwrap() error { return e.Err }

// Is matches ErrUndone or ErrPartial.
func (e *ImportError) Is(target error) bool {
	return target == ErrPartial && len(e.Left) > 0 || target == ErrUndone && len(e.Left) == 0
}

func joinWrites(ws []Write, details bool) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.String()
		if details && w.Detail != "" {
			parts[i] += " (" + w.Detail + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// writer performs the writes of an import; the tests wrap it to fail one.
type writer interface {
	// label imports l under the name as and returns what removes it.
	label(ctx context.Context, as string, l Label) (labels.Removal, error)
	// keyGroup registers g's keys; written names the keys registered,
	// also when it fails.
	keyGroup(ctx context.Context, g KeyGroup) (note string, written []string, err error)
}

// serviceWriter writes through the server's services.
type serviceWriter struct{ s Services }

func (w serviceWriter) label(ctx context.Context, as string, l Label) (labels.Removal, error) {
	_, rm, err := w.s.Labels.ImportUndoable(ctx, as, labels.ImportOptions{
		CertPEM: []byte(l.CertPEM), KeyPEM: []byte(l.KeyPEM), OAEPHash: l.OAEPHash,
	})
	return rm, err
}

func (w serviceWriter) keyGroup(ctx context.Context, g KeyGroup) (string, []string, error) {
	return importGroup(ctx, w.s.KeyGroups, g)
}

// written is one write of an import and what became of it.
type written struct {
	Write
	undone bool
}

// write performs the planned writes: every label first, each with its
// removal as undo, then the key groups, which carry none. A key group is
// the only write that can stay after a failure, so the import is all or
// nothing unless a key group fails after another was written (or after
// some of its own keys were). res gets each key group's note.
func write(ctx context.Context, s Services, w writer, todoLabels []plannedLabel, todoGroups []KeyGroup, res *Result) error {
	var done []*written
	// partial is the failed write when some of it stays on the server;
	// failedAs the failed label's name on this server.
	var partial *written
	var failedAs string
	steps := make([]importer.Step, 0, len(todoLabels)+len(todoGroups))
	for _, p := range todoLabels {
		wr := &written{Write: Write{Kind: KindLabel, Name: p.src.Name}}
		if p.as != p.src.Name {
			wr.As = p.as
		}
		steps = append(steps, importer.Step{Kind: KindLabel, Name: p.src.Name, Do: func(ctx context.Context) (importer.Undo, error) {
			rm, err := w.label(ctx, p.as, p.src)
			if err != nil {
				failedAs = wr.As
				if errors.Is(err, labels.ErrNotRemoved) { // some of its objects stay
					wr.Detail = "partly written; " + DetailUndoFailed
					partial = wr
				}
				return nil, err
			}
			done = append(done, wr)
			return func(ctx context.Context) error {
				if err := rm(ctx); err != nil {
					wr.Detail = DetailUndoFailed
					if errors.Is(err, labels.ErrNotRemoved) {
						wr.Detail = DetailChanged
					}
					return err
				}
				wr.undone = true
				return nil
			}, nil
		}})
	}
	for _, g := range todoGroups {
		wr := &written{Write: Write{Kind: KindKeyGroup, Name: g.Name, Detail: DetailKeyGroupKept}}
		steps = append(steps, importer.Step{Kind: KindKeyGroup, Name: g.Name, Do: func(ctx context.Context) (importer.Undo, error) {
			note, keysWritten, err := w.keyGroup(ctx, g)
			if err != nil {
				if len(keysWritten) > 0 {
					wr.Detail = fmt.Sprintf("partly written: keys %s; %s", strings.Join(keysWritten, ", "), DetailKeyGroupKept)
					partial = wr
				}
				return nil, err
			}
			for i := range res.Items {
				if res.Items[i].Kind == KindKeyGroup && res.Items[i].Name == g.Name {
					res.Items[i].Detail = note
				}
			}
			done = append(done, wr)
			return nil, nil
		}})
	}
	f := importer.Run(ctx, steps)
	if f == nil {
		return nil
	}
	e := &ImportError{Failed: Write{Kind: f.Kind, Name: f.Name, As: failedAs}, Err: f.Err}
	if partial != nil {
		done = append(done, partial)
	}
	for _, wr := range done {
		plain := Write{Kind: wr.Kind, Name: wr.Name, As: wr.As}
		e.Written = append(e.Written, plain)
		if wr.undone {
			e.Undone = append(e.Undone, plain)
		} else {
			e.Left = append(e.Left, wr.Write)
		}
	}
	for i, what := range f.Left {
		s.logger().Error("bundle: undo failed", "write", what, "err", f.Errs[i])
	}
	s.logger().Error("bundle: import failed", "failed", e.Failed.String(), "err", f.Err,
		"undone", len(e.Undone), "left", joinWrites(e.Left, false))
	return e
}

// importGroup imports a key group's keys, with their aliases and group,
// through the key group service, which takes the group's name and aliases
// as creating it does (a name or an alias taken meanwhile is
// keygroups.ErrExists), and activates those that were active. Keys
// without material (destroyed on the source) are left out; the note says
// so. written names the keys registered, also on failure.
func importGroup(ctx context.Context, gs *keygroups.Service, g KeyGroup) (note string, written []string, err error) {
	var missing, inactive []string
	ks := make([]keygroups.ImportKey, len(g.Keys))
	for i, k := range g.Keys {
		active := k.State == ttlv.EnumStr(kmip.StateActive)
		ks[i] = keygroups.ImportKey{Alias: k.Alias, Material: k.Material, Active: active}
		switch {
		case len(k.Material) == 0:
			missing = append(missing, k.Alias)
		case !active:
			inactive = append(inactive, k.Alias)
		}
	}
	if written, err = gs.Import(ctx, g.Name, ks); err != nil {
		return "", written, err
	}
	var notes []string
	if len(missing) > 0 {
		notes = append(notes, "keys without material on the source, left out: "+strings.Join(missing, ", "))
	}
	if len(inactive) > 0 {
		notes = append(notes, "keys not active on the source, imported pre-active: "+strings.Join(inactive, ", "))
	}
	return strings.Join(notes, "; "), written, nil
}
