package barrier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// rotateBatch is how many records one store command re-seals, together
// with the progress cursor.
const rotateBatch = 256

// writerDrain is how long the verify walk waits after the active
// generation changed in this process, so that a value sealed just before
// under a retired generation has reached the store when the walk looks.
const writerDrain = 2 * time.Second

// maxVerifyWalks bounds the verify walks: each one re-seals what
// concurrent writers sealed under a retired generation during the last.
const maxVerifyWalks = 5

// RotateOptions tunes RunKeyringRotation.
type RotateOptions struct {
	// Progress, when set, is called after every batch.
	Progress func(RotationStatus)
	// PauseAfter, when above zero, makes the run stop re-sealing after that
	// many records (in this run) and wait until ctx is done: a test hook
	// that lets a test kill the process halfway.
	PauseAfter uint64
	// OnPause is called once when PauseAfter is reached.
	OnPause func(RotationStatus)
	// DestroyUnreadable lets the rotation destroy the retired generations
	// although some records under them did not open where they are stored
	// (corrupted, or sealed for another bucket or key): without it such
	// records stop the rotation before the destruction, since their
	// owner might still open them.
	DestroyUnreadable bool
}

// StartKeyringRotation begins a keyring rotation: a new generation becomes
// active (new values are sealed under it at once) and every older one is
// recorded for retirement. RunKeyringRotation then re-seals the stored
// records and destroys the retired generations. If a rotation is already
// in progress it is returned unchanged, with ErrRotationRunning.
func (b *Barrier) StartKeyringRotation(ctx context.Context) (RotationStatus, error) {
	lister, ok := b.store.(BucketLister)
	if !ok {
		return RotationStatus{}, ErrNoBucketList
	}
	// Count the records to re-seal before taking the lock: a long scan
	// must not hold up seals. The count only feeds the progress report.
	total, err := b.countSealed(lister, b.ring.Load())
	if err != nil {
		return RotationStatus{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for range maxReserveAttempts {
		cur := b.ring.Load()
		var (
			pending *rotationState
			wrapped []byte
		)
		err := b.store.View(func(r store.Reader) error {
			var err error
			if pending, _, err = readRotation(r, RotationKey); err != nil || pending != nil {
				return err
			}
			v, err := r.Get(store.SysBucket, []byte(KeyringKey))
			if err != nil {
				return fmt.Errorf("barrier: read keyring: %w", err)
			}
			wrapped = bytes.Clone(v)
			return nil
		})
		if err != nil {
			return RotationStatus{}, err
		}
		if pending != nil {
			return pending.status(), ErrRotationRunning
		}
		if !bytes.Equal(wrapped, cur.wrapped) {
			fresh, err := b.load()
			if err != nil {
				return RotationStatus{}, err
			}
			b.ring.Store(fresh)
			continue
		}
		next, target, err := cur.addGeneration(time.Now())
		if err != nil {
			return RotationStatus{}, err
		}
		nextWrapped, err := b.wrap(next)
		if err != nil {
			return RotationStatus{}, err
		}
		st := &rotationState{Version: rotationStateVersion, Phase: PhaseReseal, Started: time.Now().UTC(),
			Target: target.id, Total: total}
		for _, g := range cur.gens {
			st.Retire = append(st.Retire, g.id)
		}
		enc, err := st.encode()
		if err != nil {
			return RotationStatus{}, err
		}
		var cmd store.Command
		cmd.RequireEqual(store.SysBucket, []byte(KeyringKey), cur.wrapped)
		cmd.Put(store.SysBucket, []byte(KeyringKey), nextWrapped)
		cmd.RequireAbsent(store.SysBucket, []byte(RotationKey))
		cmd.Put(store.SysBucket, []byte(RotationKey), enc)
		err = b.applyKeyring(ctx, cmd)
		if errors.Is(err, errKeyringChanged) {
			continue // start again from the stored keyring
		}
		if err != nil {
			return RotationStatus{}, fmt.Errorf("barrier: start rotation: %w", err)
		}
		next.wrapped = nextWrapped
		b.ring.Store(next)
		// Drop this process's reservation on the old generation: the next
		// seal reserves on the new one.
		b.lease.Store(nil)
		b.switched.Store(time.Now().UnixNano())
		b.logger.Info("barrier: keyring rotation started", "generation", target.id, "retire", st.Retire, "records", total)
		return st.status(), nil
	}
	return RotationStatus{}, fmt.Errorf("barrier: start rotation: keyring changed under %d attempts in a row", maxReserveAttempts)
}

// countSealed counts the records sealed under one of ring's generations.
func (b *Barrier) countSealed(lister BucketLister, ring *keyring) (uint64, error) {
	buckets, err := lister.Buckets()
	if err != nil {
		return 0, fmt.Errorf("barrier: start rotation: %w", err)
	}
	var total uint64
	err = b.store.View(func(r store.Reader) error {
		for _, bk := range buckets {
			err := r.Scan(bk, nil, nil, func(k, v []byte) (bool, error) {
				if id, ok := sealedUnder(v); ok && ring.byID[id] != nil && !systemRecord(bk, k) {
					total++
				}
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("barrier: start rotation: count records: %w", err)
	}
	return total, nil
}

// addGeneration returns the keyring with a new, active generation.
func (r *keyring) addGeneration(now time.Time) (*keyring, *generation, error) {
	last := r.gens[len(r.gens)-1].id
	if last == math.MaxUint32 {
		return nil, nil, errors.New("barrier: keyring generation ids exhausted")
	}
	g, err := newGeneration(last+1, now, 0)
	if err != nil {
		return nil, nil, err
	}
	gens := append(slices.Clone(r.gens), g)
	next, err := assemble(r.indexKey, g.id, gens)
	return next, g, err
}

// KeyringRotation returns the rotation in progress or, when there is
// none, the last completed one (InProgress false; a zero status when no
// rotation ever completed).
func (b *Barrier) KeyringRotation() (RotationStatus, error) {
	var st *rotationState
	err := b.store.View(func(r store.Reader) error {
		var err error
		if st, _, err = readRotation(r, RotationKey); err != nil || st != nil {
			return err
		}
		st, _, err = readRotation(r, RotationDoneKey)
		return err
	})
	if err != nil || st == nil {
		return RotationStatus{}, err
	}
	return st.status(), nil
}

// RunKeyringRotation carries the rotation in progress to its end: it
// re-seals, batch by batch, every record sealed under a retired generation
// (each batch and the progress cursor in one atomic store command, so a
// run killed at any point resumes where it stopped), walks the store again
// until no such record is left, and then removes the retired generations
// from the keyring: their keys are gone, and a value sealed under them —
// a destroyed object's old record on a free page, in a backup or in a
// copy — can no longer be opened. It returns ErrNoRotation when none is in
// progress. The store file still holds old records and old keyring copies
// on its free pages until it is compacted (store.Compact).
func (b *Barrier) RunKeyringRotation(ctx context.Context, opts RotateOptions) (RotationStatus, error) {
	if !b.rotMu.TryLock() {
		return RotationStatus{}, ErrRotationRunning
	}
	defer b.rotMu.Unlock()
	lister, ok := b.store.(BucketLister)
	if !ok {
		return RotationStatus{}, ErrNoBucketList
	}
	w := &walker{b: b, lister: lister, opts: opts}
	if err := w.load(); err != nil {
		return RotationStatus{}, err
	}
	if w.st.Phase == PhaseReseal {
		if err := w.walk(ctx); err != nil {
			return w.st.status(), err
		}
		if err := w.nextPhase(ctx, PhaseVerify); err != nil {
			return w.st.status(), err
		}
	}
	for walks := 0; ; walks++ {
		if walks == maxVerifyWalks {
			return w.st.status(), fmt.Errorf("barrier: rotation: writers kept sealing under retired generations through %d walks", maxVerifyWalks)
		}
		if err := b.drainWriters(ctx); err != nil {
			return w.st.status(), err
		}
		if err := w.walk(ctx); err != nil {
			return w.st.status(), err
		}
		if w.st.Found == 0 {
			break
		}
		if err := w.nextPhase(ctx, PhaseVerify); err != nil {
			return w.st.status(), err
		}
	}
	if w.st.Unreadable > 0 && !opts.DestroyUnreadable {
		return w.st.status(), fmt.Errorf("barrier: rotation: %d records under the retired generations do not open where they are stored: the generations are kept (check the warnings naming their buckets; destroy anyway with DestroyUnreadable, keywarden keyring rotate --destroy-unreadable)", w.st.Unreadable)
	}
	if err := b.destroyRetired(ctx, w.st, w.raw); err != nil {
		return w.st.status(), err
	}
	return b.KeyringRotation()
}

// drainWriters waits until writerDrain has passed since this process last
// changed the active generation.
func (b *Barrier) drainWriters(ctx context.Context) error {
	wait := time.Until(time.Unix(0, b.switched.Load()).Add(writerDrain))
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("barrier: rotation: %w", ctx.Err())
	}
}

// destroyRetired removes the retired generations from the keyring and
// records the rotation as completed, in one store command.
func (b *Barrier) destroyRetired(ctx context.Context, st *rotationState, raw []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	retire := make(map[uint32]bool, len(st.Retire))
	for _, id := range st.Retire {
		retire[id] = true
	}
	for range maxReserveAttempts {
		cur := b.ring.Load()
		var keep []*generation
		for _, g := range cur.gens {
			if !retire[g.id] {
				keep = append(keep, g)
			}
		}
		if retire[cur.active] || len(keep) == 0 {
			return fmt.Errorf("barrier: rotation: the active generation %d is to be retired", cur.active)
		}
		next, err := assemble(cur.indexKey, cur.active, keep)
		if err != nil {
			return fmt.Errorf("barrier: rotation: %w", err)
		}
		wrapped, err := b.wrap(next)
		if err != nil {
			return err
		}
		done := *st
		done.Finished = time.Now().UTC()
		done.Bucket, done.Cursor = "", nil
		enc, err := done.encode()
		if err != nil {
			return err
		}
		var cmd store.Command
		cmd.RequireEqual(store.SysBucket, []byte(KeyringKey), cur.wrapped)
		cmd.Put(store.SysBucket, []byte(KeyringKey), wrapped)
		cmd.RequireEqual(store.SysBucket, []byte(RotationKey), raw)
		cmd.Delete(store.SysBucket, []byte(RotationKey))
		cmd.Put(store.SysBucket, []byte(RotationDoneKey), enc)
		err = b.applyKeyring(ctx, cmd)
		if errors.Is(err, errKeyringChanged) {
			continue // start again from the stored keyring
		}
		if err != nil {
			return fmt.Errorf("barrier: rotation: destroy retired generations: %w", err)
		}
		next.wrapped = wrapped
		b.ring.Store(next)
		for _, g := range cur.gens {
			if retire[g.id] {
				wipe(g.key)
			}
		}
		b.logger.Info("barrier: keyring rotation completed; retired generations destroyed",
			"generations", st.Retire, "resealed", st.Resealed, "unreadable", st.Unreadable)
		return nil
	}
	return fmt.Errorf("barrier: rotation: keyring changed under %d attempts in a row", maxReserveAttempts)
}
