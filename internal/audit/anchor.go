package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// Head is the chain's head: the last record's seq and MAC. Anchored in the
// sealed store, it lets Verify detect that the last records were cut off.
type Head struct {
	Seq uint64 `json:"seq"`
	MAC string `json:"mac"`
	// First is the seq the retained trail starts at: retention anchors it
	// before it removes files, so that Verify reports older files removed
	// by hand. Zero skips that check.
	First uint64    `json:"first,omitempty"`
	Time  time.Time `json:"time"`
}

// Anchor keeps the chain head somewhere the audit files' editor cannot
// rewrite it. Load answers the zero Head when none was stored.
type Anchor interface {
	Load(ctx context.Context) (Head, error)
	Store(ctx context.Context, h Head) error
}

// Sealer seals and opens stored values; the barrier implements it.
type Sealer interface {
	Seal(bucket string, key, plaintext []byte) ([]byte, error)
	Open(bucket string, key, sealed []byte) ([]byte, error)
}

// Where the store anchor keeps the head.
const (
	anchorBucket = "audit"
	anchorKey    = "head"
)

// StoreAnchor keeps the chain head sealed by the barrier in the store
// (bucket "audit", key "head"). Replicated stores replicate it like any
// other command.
type StoreAnchor struct {
	st   store.Store
	seal Sealer
}

// NewStoreAnchor returns an Anchor over st, sealing with seal.
func NewStoreAnchor(st store.Store, seal Sealer) (*StoreAnchor, error) {
	if st == nil || seal == nil {
		return nil, errors.New("audit: a store and a barrier are required for the anchor")
	}
	return &StoreAnchor{st: st, seal: seal}, nil
}

// Load returns the anchored head, or the zero Head when none is stored.
func (a *StoreAnchor) Load(ctx context.Context) (Head, error) {
	var h Head
	if err := ctx.Err(); err != nil {
		return h, fmt.Errorf("audit: load anchor: %w", err)
	}
	var sealed []byte
	err := a.st.View(func(r store.Reader) error {
		v, err := r.Get(anchorBucket, []byte(anchorKey))
		if err != nil {
			return err
		}
		sealed = append([]byte(nil), v...)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("audit: load anchor: %w", err)
	}
	plain, err := a.seal.Open(anchorBucket, []byte(anchorKey), sealed)
	if err != nil {
		return h, fmt.Errorf("audit: open anchor: %w", err)
	}
	if err := json.Unmarshal(plain, &h); err != nil {
		return h, fmt.Errorf("audit: decode anchor: %w", err)
	}
	return h, nil
}

// Store seals h and writes it in a command of its own.
func (a *StoreAnchor) Store(ctx context.Context, h Head) error {
	plain, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("audit: encode anchor: %w", err)
	}
	sealed, err := a.seal.Seal(anchorBucket, []byte(anchorKey), plain)
	if err != nil {
		return fmt.Errorf("audit: seal anchor: %w", err)
	}
	var cmd store.Command
	cmd.Put(anchorBucket, []byte(anchorKey), sealed)
	if err := a.st.Apply(ctx, cmd); err != nil {
		return fmt.Errorf("audit: store anchor: %w", err)
	}
	return nil
}
