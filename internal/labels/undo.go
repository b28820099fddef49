package labels

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/keywarden/keywarden/internal/keys"
)

// ErrNotRemoved is returned by a Removal that removed nothing: another
// writer changed one of the label's objects since the import (a drive was
// served its certificate, an administrator changed an attribute), or the
// import's writes could not all be recorded. The label stays as it is.
var ErrNotRemoved = errors.New("labels: imported label not removed")

// Removal removes a label that ImportUndoable wrote, and nothing else:
// the certificate, public key and private key objects the import created
// and their index entries, in one store command, so that the name is free
// again. It refuses (ErrNotRemoved, nothing removed) when any of those
// objects changed since the import. It runs once; a second call does
// nothing.
type Removal func(ctx context.Context) error

// ImportUndoable imports a label like Import and returns, with it, the
// Removal that takes it out again (an import of several labels undoes the
// ones it wrote when a later one fails). The writes are recorded in a
// keys.Journal and removed with keys.Manager.Undo, the lifecycle core's
// own reversal (a KMIP batch with the Undo option uses it too): a label
// that existed before the import is never touched, since the import only
// creates objects, and the Removal checks that the journal names no other.
//
// When the import itself fails after writing some of the label's objects,
// ImportUndoable removes them before it returns the error; if that removal
// fails too, the error also matches ErrNotRemoved and names the objects
// left.
func (s *Service) ImportUndoable(ctx context.Context, name string, opts ImportOptions) (*Label, Removal, error) {
	j := new(keys.Journal)
	lb, err := s.Import(keys.WithJournal(ctx, j), name, opts)
	if err != nil {
		if len(j.Objects()) == 0 {
			return nil, nil, err
		}
		uctx := context.WithoutCancel(ctx)
		if uerr := s.keys.Undo(uctx, j); uerr != nil {
			s.log.Error("label import failed; its objects could not be removed", "label", name, "ids", j.Objects(), "err", uerr)
			return nil, nil, fmt.Errorf("%w; %w: its objects %v stay: %w", err, ErrNotRemoved, j.Objects(), uerr)
		}
		s.log.Info("label import failed; its objects were removed", "label", name, "ids", j.Objects())
		return nil, nil, err
	}
	done := false
	remove := func(ctx context.Context) error {
		if done {
			return nil
		}
		own := []string{lb.CertificateID, lb.PublicKeyID}
		if lb.PrivateKeyID != "" {
			own = append(own, lb.PrivateKeyID)
		}
		for _, id := range j.Objects() {
			if !slices.Contains(own, id) {
				return fmt.Errorf("%w: %q: the import wrote object %s, which is not the label's", ErrNotRemoved, name, id)
			}
		}
		if err := s.keys.Undo(ctx, j); err != nil {
			if errors.Is(err, keys.ErrUndoConflict) || errors.Is(err, keys.ErrNotUndoable) {
				return fmt.Errorf("%w: %q: %w", ErrNotRemoved, name, err)
			}
			return fmt.Errorf("labels: remove imported %q: %w", name, err)
		}
		done = true
		s.log.Info("imported key label removed", "label", name, "ids", own)
		return nil
	}
	return lb, remove, nil
}
