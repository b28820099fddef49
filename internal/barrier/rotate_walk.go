package barrier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// walker re-seals the records of a keyring rotation, resuming from the
// cursor in its stored progress record.
type walker struct {
	b      *Barrier
	lister BucketLister
	opts   RotateOptions
	st     *rotationState
	raw    []byte // st as stored; every update requires it unchanged
	retire map[uint32]bool
	// resealed counts records re-sealed by this run (for PauseAfter).
	resealed uint64
}

// load reads the progress record.
func (w *walker) load() error {
	err := w.b.store.View(func(r store.Reader) error {
		var err error
		w.st, w.raw, err = readRotation(r, RotationKey)
		return err
	})
	if err != nil {
		return err
	}
	if w.st == nil {
		return ErrNoRotation
	}
	w.retire = make(map[uint32]bool, len(w.st.Retire))
	for _, id := range w.st.Retire {
		w.retire[id] = true
	}
	return nil
}

// retired reports whether bucket/v is a record sealed under a retired
// generation.
func (w *walker) retired(bucket string, k, v []byte) bool {
	id, ok := sealedUnder(v)
	return ok && w.retire[id] && !systemRecord(bucket, k)
}

// nextPhase starts a new walk from the first bucket in phase.
func (w *walker) nextPhase(ctx context.Context, phase string) error {
	next := *w.st
	next.Phase, next.Bucket, next.Cursor, next.Found, next.Unreadable = phase, "", nil, 0, 0
	return w.commit(ctx, store.Command{}, &next)
}

// commit applies cmd with the progress update to next.
func (w *walker) commit(ctx context.Context, cmd store.Command, next *rotationState) error {
	enc, err := next.encode()
	if err != nil {
		return err
	}
	cmd.RequireEqual(store.SysBucket, []byte(RotationKey), w.raw)
	cmd.Put(store.SysBucket, []byte(RotationKey), enc)
	if err := w.b.store.Apply(ctx, cmd); err != nil {
		return err
	}
	w.st, w.raw = next, enc
	return nil
}

// walk visits every bucket from the cursor on, in name order, re-sealing
// the records under retired generations.
func (w *walker) walk(ctx context.Context) error {
	buckets, err := w.lister.Buckets()
	if err != nil {
		return fmt.Errorf("barrier: rotation: %w", err)
	}
	slices.Sort(buckets)
	for _, bucket := range buckets {
		if bucket < w.st.Bucket {
			continue // done in an earlier run
		}
		var start []byte
		if bucket == w.st.Bucket && w.st.Cursor != nil {
			start = append(bytes.Clone(w.st.Cursor), 0) // the next key after the cursor
		}
		for {
			next, more, err := w.batch(ctx, bucket, start)
			if err != nil {
				return err
			}
			if !more {
				break
			}
			start = next
		}
	}
	return nil
}

// batch re-seals up to rotateBatch records of bucket from start and
// advances the cursor in the same store command. It returns the key to
// continue from and whether the bucket has more. A batch that conflicts
// with a concurrent write is read again, halved each time, down to one
// record (which, read again, is usually under the new generation already).
func (w *walker) batch(ctx context.Context, bucket string, start []byte) ([]byte, bool, error) {
	limit := rotateBatch
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, false, fmt.Errorf("barrier: rotation: %w", err)
		}
		if attempt == maxReserveAttempts {
			return nil, false, fmt.Errorf("barrier: rotation: bucket %q kept changing under %d attempts", bucket, maxReserveAttempts)
		}
		type rec struct{ k, v []byte }
		var (
			recs    []rec
			last    []byte
			scanned int
		)
		err := w.b.store.View(func(r store.Reader) error {
			return r.Scan(bucket, nil, start, func(k, v []byte) (bool, error) {
				scanned++
				last = append(last[:0], k...)
				if w.retired(bucket, k, v) {
					recs = append(recs, rec{bytes.Clone(k), bytes.Clone(v)})
				}
				return len(recs) < limit && scanned < 16*rotateBatch, nil
			})
		})
		if err != nil {
			return nil, false, fmt.Errorf("barrier: rotation: read bucket %q: %w", bucket, err)
		}
		if scanned == 0 {
			return nil, false, nil
		}
		var cmd store.Command
		next := *w.st
		next.Bucket, next.Cursor = bucket, bytes.Clone(last)
		for _, r := range recs {
			plain, err := w.b.Open(bucket, r.k, r.v)
			if err != nil {
				next.Unreadable++
				w.b.logger.Warn("barrier: rotation: a record under a retired generation does not open; left as it is",
					"bucket", bucket, "err", err)
				continue
			}
			sealed, err := w.b.Seal(bucket, r.k, plain)
			wipe(plain)
			if err != nil {
				return nil, false, fmt.Errorf("barrier: rotation: %w", err)
			}
			cmd.RequireEqual(bucket, r.k, r.v)
			cmd.Put(bucket, r.k, sealed)
			next.Resealed++
			if next.Phase == PhaseVerify {
				next.Found++
			}
		}
		n := next.Resealed - w.st.Resealed
		err = w.commit(ctx, cmd, &next)
		if errors.Is(err, store.ErrConflict) {
			if err := w.reloadSame(); err != nil {
				return nil, false, err
			}
			limit = max(1, limit/2)
			// A record changed meanwhile: read the batch again, after a
			// growing pause so that a hot writer cannot keep the rotation
			// in lockstep with its own writes.
			select {
			case <-ctx.Done():
				return nil, false, fmt.Errorf("barrier: rotation: %w", ctx.Err())
			case <-time.After(time.Duration(attempt+1) * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("barrier: rotation: write bucket %q: %w", bucket, err)
		}
		w.resealed += n
		if w.opts.Progress != nil {
			w.opts.Progress(w.st.status())
		}
		if w.opts.PauseAfter > 0 && w.resealed >= w.opts.PauseAfter {
			return nil, false, w.pause(ctx)
		}
		return append(bytes.Clone(last), 0), true, nil
	}
}

// reloadSame re-reads the progress record after a conflict; if another
// runner changed it, the rotation is not this run's any more.
func (w *walker) reloadSame() error {
	var raw []byte
	err := w.b.store.View(func(r store.Reader) error {
		var err error
		_, raw, err = readRotation(r, RotationKey)
		return err
	})
	if err != nil {
		return err
	}
	if !bytes.Equal(raw, w.raw) {
		return fmt.Errorf("%w: its progress record changed under this run", ErrRotationRunning)
	}
	return nil
}

// pause stops the run (the PauseAfter test hook) until ctx is done.
func (w *walker) pause(ctx context.Context) error {
	w.b.logger.Warn("barrier: rotation paused by PauseAfter", "resealed", w.resealed)
	if w.opts.OnPause != nil {
		w.opts.OnPause(w.st.status())
	}
	<-ctx.Done()
	return fmt.Errorf("barrier: rotation paused after %d records: %w", w.resealed, ctx.Err())
}
