package barrier

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// Where a keyring rotation keeps its progress and its outcome, in
// store.SysBucket. Neither record holds key material: generation ids, store
// keys (which the store keeps in the clear anyway) and counts.
const (
	// RotationKey holds the rotation in progress, if any.
	RotationKey = "keyring-rotation"
	// RotationDoneKey holds the summary of the last completed rotation.
	RotationDoneKey = "keyring-rotation-done"
)

// Errors of keyring rotation.
var (
	// ErrRotationRunning: a keyring rotation is already running in this
	// process (or another process changed its progress record meanwhile).
	ErrRotationRunning = errors.New("barrier: a keyring rotation is already running")
	// ErrNoRotation: no keyring rotation is in progress.
	ErrNoRotation = errors.New("barrier: no keyring rotation in progress")
	// ErrNoBucketList: the store cannot list its buckets, so its records
	// cannot be walked.
	ErrNoBucketList = errors.New("barrier: the store cannot list its buckets")
)

// BucketLister is the store capability keyring rotation needs: the names
// of every bucket (store.Bolt implements it).
type BucketLister interface {
	Buckets() ([]string, error)
}

// Phases of a keyring rotation.
const (
	// PhaseReseal re-seals every record under a retired generation.
	PhaseReseal = "reseal"
	// PhaseVerify walks the store again, re-sealing whatever a concurrent
	// writer sealed under a retired generation meanwhile; it repeats until
	// a walk finds nothing.
	PhaseVerify = "verify"
)

// RotationStatus describes a keyring rotation, in progress or completed.
type RotationStatus struct {
	// InProgress: a rotation is recorded in the store and not finished.
	InProgress bool `json:"in_progress"`
	// Running: this process is working on it now.
	Running bool `json:"running"`
	// Phase is PhaseReseal or PhaseVerify while in progress.
	Phase string `json:"phase,omitempty"`
	// Started is when the rotation began.
	Started time.Time `json:"started,omitzero"`
	// Finished is when the last completed rotation destroyed its retired
	// generations (zero while in progress or when none completed).
	Finished time.Time `json:"finished,omitzero"`
	// Target is the generation created by the rotation.
	Target uint32 `json:"target"`
	// Retire are the generations that the rotation destroys at its end.
	Retire []uint32 `json:"retire"`
	// Bucket is the bucket being walked.
	Bucket string `json:"bucket,omitempty"`
	// Resealed counts records re-sealed so far; Total is how many were
	// sealed under retired generations when the rotation began.
	Resealed uint64 `json:"resealed"`
	Total    uint64 `json:"total"`
	// Unreadable counts, in the current walk, records that looked sealed
	// under a retired generation but did not open where they are stored
	// (corrupted): they are left as they are, and the retired generations
	// are only destroyed when RotateOptions.DestroyUnreadable allows it.
	Unreadable uint64 `json:"unreadable"`
	// Error is why the last run in this process stopped, if it failed.
	Error string `json:"error,omitempty"`
}

// rotationState is the stored progress record (JSON in store.SysBucket).
type rotationState struct {
	Version    int       `json:"version"`
	Phase      string    `json:"phase"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished,omitzero"`
	Target     uint32    `json:"target"`
	Retire     []uint32  `json:"retire"`
	Bucket     string    `json:"bucket"`
	Cursor     []byte    `json:"cursor,omitempty"`
	Resealed   uint64    `json:"resealed"`
	Total      uint64    `json:"total"`
	Unreadable uint64    `json:"unreadable"`
	// Found counts records re-sealed by the current verify walk.
	Found uint64 `json:"found"`
}

const rotationStateVersion = 1

func (s *rotationState) status() RotationStatus {
	return RotationStatus{
		InProgress: s.Finished.IsZero(), Phase: s.Phase, Started: s.Started, Finished: s.Finished,
		Target: s.Target, Retire: slices.Clone(s.Retire), Bucket: s.Bucket,
		Resealed: s.Resealed, Total: s.Total, Unreadable: s.Unreadable,
	}
}

func (s *rotationState) encode() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("barrier: encode rotation state: %w", err)
	}
	return b, nil
}

// readRotation returns the record at key with its stored bytes, or nil
// when there is none.
func readRotation(r store.Reader, key string) (*rotationState, []byte, error) {
	v, err := r.Get(store.SysBucket, []byte(key))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("barrier: read rotation state: %w", err)
	}
	raw := append([]byte(nil), v...)
	var s rotationState
	if err := json.Unmarshal(raw, &s); err != nil || s.Version != rotationStateVersion {
		return nil, nil, fmt.Errorf("barrier: rotation state %s/%s unreadable (version %d): %v", store.SysBucket, key, s.Version, err)
	}
	return &s, raw, nil
}

// systemRecord reports whether bucket/key is one of the records the
// barrier and the store keep unsealed (or sealed under the master key).
func systemRecord(bucket string, key []byte) bool {
	if bucket != store.SysBucket {
		return false
	}
	switch string(key) {
	case KeyringKey, RotationKey, RotationDoneKey, "format":
		return true
	}
	return false
}

// sealedUnder returns the generation id in a sealed value's header, and
// whether the value has the shape of one.
func sealedUnder(v []byte) (uint32, bool) {
	if len(v) < sealHeaderLen+gcmOverhead || v[0] != sealVersion {
		return 0, false
	}
	return binary.BigEndian.Uint32(v[1:sealHeaderLen]), true
}
