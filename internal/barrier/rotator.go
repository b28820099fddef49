package barrier

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// Rotator runs a Barrier's keyring rotations in the background, one at a
// time, for a server that keeps serving meanwhile.
type Rotator struct {
	b            *Barrier
	log          *slog.Logger
	afterDestroy func() error

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	running  bool
	progress RotationStatus // the running rotation's last progress
	lastErr  string         // why the last run failed
}

// RotatorOptions configures NewRotator.
type RotatorOptions struct {
	// Logger receives the start, failure and end of each run; nil discards.
	Logger *slog.Logger
	// AfterDestroy runs once a rotation has destroyed its retired
	// generations, e.g. store.MarkCompactPending so that the store file
	// is compacted at the next start.
	AfterDestroy func() error
}

// KeyringStatus describes the keyring, without any key.
type KeyringStatus struct {
	// MasterKey is the kind of master key that wraps the keyring.
	MasterKey string `json:"master_key"`
	// Generations are the keyring's generations, oldest first.
	Generations []GenerationInfo `json:"generations"`
	// Rotation is the rotation in progress, else the last completed one
	// (zero when none ever ran).
	Rotation RotationStatus `json:"rotation"`
}

// NewRotator returns a Rotator over b.
func NewRotator(b *Barrier, o RotatorOptions) *Rotator {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Rotator{b: b, log: o.Logger, afterDestroy: o.AfterDestroy, ctx: ctx, cancel: cancel}
}

// Start begins a keyring rotation in the background, or resumes the one an
// earlier process left unfinished. It returns ErrRotationRunning when one
// is running already.
func (r *Rotator) Start(ctx context.Context) (RotationStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return r.progress, ErrRotationRunning
	}
	st, err := r.b.StartKeyringRotation(ctx)
	if errors.Is(err, ErrRotationRunning) {
		err = nil // recorded but not running here: resume it
	}
	if err != nil {
		return RotationStatus{}, err
	}
	r.launch(st)
	st.Running = true
	return st, nil
}

// Resume continues, in the background, a rotation left unfinished (by a
// crash or a stop); it reports whether there was one.
func (r *Rotator) Resume() (bool, error) {
	st, err := r.b.KeyringRotation()
	if err != nil || !st.InProgress {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return true, nil
	}
	r.log.Info("barrier: resuming an unfinished keyring rotation", "generation", st.Target, "resealed", st.Resealed, "total", st.Total)
	r.launch(st)
	return true, nil
}

// launch starts the run; r.mu is held.
func (r *Rotator) launch(st RotationStatus) {
	r.running, r.progress, r.lastErr = true, st, ""
	r.wg.Go(func() {
		done, err := r.b.RunKeyringRotation(r.ctx, RotateOptions{Progress: func(s RotationStatus) {
			r.mu.Lock()
			r.progress = s
			r.mu.Unlock()
		}})
		if err == nil && r.afterDestroy != nil {
			err = r.afterDestroy()
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.running, r.progress = false, done
		if err != nil {
			r.lastErr = err.Error()
			if r.ctx.Err() == nil {
				r.log.Error("barrier: keyring rotation stopped; it resumes on the next start or POST /v1/keyring/rotate", "err", err)
			}
		}
	})
}

// Status returns the keyring's generations and the rotation's progress.
func (r *Rotator) Status() (KeyringStatus, error) {
	st, err := r.b.KeyringRotation()
	if err != nil {
		return KeyringStatus{}, err
	}
	r.mu.Lock()
	if r.running {
		p := r.progress
		p.InProgress, p.Running = true, true
		st = p
	} else {
		st.Error = r.lastErr
	}
	r.mu.Unlock()
	return KeyringStatus{MasterKey: r.b.mk.Kind(), Generations: r.b.Generations(), Rotation: st}, nil
}

// Wait blocks until no rotation runs.
func (r *Rotator) Wait() { r.wg.Wait() }

// Close stops a running rotation (it resumes at the next start: its
// progress is in the store) and waits for it.
func (r *Rotator) Close() error {
	r.cancel()
	r.wg.Wait()
	return nil
}

// Barrier returns the barrier whose keyring the rotator rotates.
func (r *Rotator) Barrier() *Barrier { return r.b }

// MasterKeyKind names the kind of master key that wraps the keyring.
func (b *Barrier) MasterKeyKind() string { return b.mk.Kind() }
