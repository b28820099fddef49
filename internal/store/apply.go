package store

import (
	"bytes"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// SysBucket is the bucket the system keeps its own records in: the on-disk
// format version (key "format", owned by the store and never writable through
// a Command) and the barrier's sealed keyring.
const SysBucket = "sys"

// formatKey is the key in SysBucket that holds the on-disk format version.
const formatKey = "format"

// ErrInvalidCommand is returned by Apply (and Command.Validate) when a
// command is malformed: an unknown op kind, an empty bucket name or key, a
// key or value too large, or a write to a key the store reserves for itself.
// Nothing of an invalid command is written.
var ErrInvalidCommand = errors.New("store: invalid command")

// Limits on what a Command may carry; they are bbolt's limits, so that a
// command accepted by one implementation is accepted by all of them.
const (
	// MaxKeySize is the largest bucket name or key, in bytes.
	MaxKeySize = bbolt.MaxKeySize
	// MaxValueSize is the largest value, in bytes.
	MaxValueSize = bbolt.MaxValueSize
)

// String names the op kind for errors and logs.
func (k OpKind) String() string {
	switch k {
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	case OpRequireAbsent:
		return "require-absent"
	case OpRequireEqual:
		return "require-equal"
	default:
		return fmt.Sprintf("op-kind(%d)", uint8(k))
	}
}

// Validate reports, as an error wrapping ErrInvalidCommand, the first op of
// c that no Store would accept. It does not look at the store's contents.
func (c Command) Validate() error {
	for i, op := range c.Ops {
		if err := op.validate(); err != nil {
			return fmt.Errorf("%w: op %d (%s): %s", ErrInvalidCommand, i, op.Kind, err)
		}
	}
	return nil
}

// validate returns a plain description of what is wrong with op, or nil.
func (op Op) validate() error {
	switch op.Kind {
	case OpPut, OpDelete, OpRequireAbsent, OpRequireEqual:
	default:
		return errors.New("unknown kind")
	}
	switch {
	case op.Bucket == "":
		return errors.New("empty bucket name")
	case len(op.Bucket) > MaxKeySize:
		return errors.New("bucket name too long")
	case len(op.Key) == 0:
		return errors.New("empty key")
	case len(op.Key) > MaxKeySize:
		return errors.New("key too long")
	case int64(len(op.Value)) > MaxValueSize:
		return errors.New("value too large")
	}
	if (op.Kind == OpPut || op.Kind == OpDelete) && op.Bucket == SysBucket && string(op.Key) == formatKey {
		return fmt.Errorf("%s/%s is reserved for the store", SysBucket, formatKey)
	}
	return nil
}

// ApplyTx applies cmd inside the bbolt read-write transaction tx. It is the
// one place where commands change data: Bolt.Apply calls it, and so will a
// replicated store's state machine, so that every node changes its data the
// same way.
//
// ApplyTx is deterministic: its effect depends only on cmd and the data in
// tx. Ops take effect in order (a precondition sees the earlier writes of
// the same command). Every precondition is checked before anything is
// written, so a command that returns ErrConflict has left tx untouched and
// other commands may still be applied in the same transaction. An invalid
// command returns an error wrapping ErrInvalidCommand, also untouched.
func ApplyTx(tx *bbolt.Tx, cmd Command) error {
	if err := cmd.Validate(); err != nil {
		return err
	}
	if err := checkTx(tx, cmd); err != nil {
		return err
	}
	for i, op := range cmd.Ops {
		if op.Kind == OpRequireAbsent || op.Kind == OpRequireEqual {
			continue
		}
		if err := applyOp(tx, op); err != nil {
			return fmt.Errorf("store: op %d (%s) in bucket %q: %w", i, op.Kind, op.Bucket, err)
		}
	}
	return nil
}

// checkTx evaluates the preconditions of cmd in order against the data in
// tx overlaid with the command's own earlier writes, without writing.
func checkTx(tx *bbolt.Tx, cmd Command) error {
	type slot struct {
		value   []byte
		deleted bool
	}
	overlay := map[string]slot{}
	lookup := func(op Op) []byte {
		if s, ok := overlay[op.Bucket+"\x00"+string(op.Key)]; ok {
			if s.deleted {
				return nil
			}
			return s.value
		}
		if b := tx.Bucket([]byte(op.Bucket)); b != nil {
			return b.Get(op.Key)
		}
		return nil
	}
	for i, op := range cmd.Ops {
		k := op.Bucket + "\x00" + string(op.Key)
		switch op.Kind {
		case OpPut:
			v := op.Value
			if v == nil {
				v = []byte{}
			}
			overlay[k] = slot{value: v}
		case OpDelete:
			overlay[k] = slot{deleted: true}
		case OpRequireAbsent:
			if lookup(op) != nil {
				return fmt.Errorf("store: op %d (%s) in bucket %q: %w", i, op.Kind, op.Bucket, ErrConflict)
			}
		case OpRequireEqual:
			v := lookup(op)
			if v == nil || !bytes.Equal(v, op.Value) {
				return fmt.Errorf("store: op %d (%s) in bucket %q: %w", i, op.Kind, op.Bucket, ErrConflict)
			}
		}
	}
	return nil
}

// applyOp performs one validated op.
func applyOp(tx *bbolt.Tx, op Op) error {
	name := []byte(op.Bucket)
	switch op.Kind {
	case OpPut:
		b, err := tx.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		value := op.Value
		if value == nil {
			// An empty value must still read back as present.
			value = []byte{}
		}
		return b.Put(op.Key, value)
	case OpDelete:
		b := tx.Bucket(name)
		if b == nil {
			return nil
		}
		return b.Delete(op.Key)
	case OpRequireAbsent:
		if b := tx.Bucket(name); b != nil && b.Get(op.Key) != nil {
			return ErrConflict
		}
		return nil
	case OpRequireEqual:
		b := tx.Bucket(name)
		if b == nil {
			return ErrConflict
		}
		v := b.Get(op.Key)
		if v == nil || !bytes.Equal(v, op.Value) {
			return ErrConflict
		}
		return nil
	default:
		// Unreachable after Validate; kept so a new kind cannot be ignored.
		return ErrInvalidCommand
	}
}
