package keygroups

import (
	"context"
	"errors"
	"fmt"

	"github.com/keywarden/keywarden/internal/keys"
	kmip "github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Next returns the group's next key in round-robin (alias) order, skipping
// keys that cannot be served. The key identifier written on the tape is
// the alias. The caller clears key.
func (s *Service) Next(ctx context.Context, group string) (alias, keyID string, key []byte, err error) {
	return s.pick(ctx, group, nil)
}

// pick is Next and NextGated (gate.go): gate nil serves every key.
func (s *Service) pick(ctx context.Context, group string, gate Gate) (alias, keyID string, key []byte, err error) {
	ctx = scope(ctx)
	ids, err := s.groupIDs(ctx, group)
	if err != nil {
		return "", "", nil, err
	}
	if len(ids) == 0 {
		return "", "", nil, fmt.Errorf("%w: key group %q", ErrNotFound, group)
	}
	// Reserve the starting position under the lock, so that concurrent
	// writes get different keys.
	s.mu.Lock()
	start := s.next[group] % len(ids)
	s.next[group] = (start + 1) % len(ids)
	s.mu.Unlock()
	var refused error
	for i := range ids {
		pos := (start + i) % len(ids)
		o, err := s.keys.Get(ctx, ids[pos])
		if err != nil {
			if errors.Is(err, keys.ErrNotFound) {
				continue
			}
			return "", "", nil, fmt.Errorf("keygroups: next of %q: %w", group, err)
		}
		a, g, ok := describe(o)
		if !ok || g != group {
			continue
		}
		k, err := s.material(ctx, o, a, gate)
		if errors.Is(err, ErrRefused) {
			if refused == nil {
				refused = err
			}
			continue
		}
		if errors.Is(err, ErrUnavailable) {
			continue
		} else if err != nil {
			return "", "", nil, err
		}
		if pos != start {
			// Keys were skipped: continue after the one served.
			s.mu.Lock()
			s.next[group] = (pos + 1) % len(ids)
			s.mu.Unlock()
		}
		return a, a, k, nil
	}
	if refused != nil {
		return "", "", nil, fmt.Errorf("keygroups: no key of key group %q may be served: %w", group, refused)
	}
	return "", "", nil, fmt.Errorf("%w: no usable key in key group %q", ErrUnavailable, group)
}

// ByAlias returns the key of a key group key by alias. The caller clears
// the key.
func (s *Service) ByAlias(ctx context.Context, alias string) ([]byte, error) {
	return s.byAlias(ctx, alias, nil)
}

// byAlias is ByAlias and ByAliasGated (gate.go): gate nil serves the key.
func (s *Service) byAlias(ctx context.Context, alias string, gate Gate) ([]byte, error) {
	ctx = scope(ctx)
	o, err := s.find(ctx, alias)
	if err != nil {
		return nil, err
	}
	a, _, _ := describe(o)
	return s.material(ctx, o, a, gate)
}

// ByKeyID returns the key a tape's key identifier names: the identifier is
// the alias. The caller clears the key.
func (s *Service) ByKeyID(ctx context.Context, keyID string) ([]byte, error) {
	return s.ByAlias(ctx, keyID)
}

// material returns a copy of an active key's AES-256 material and marks
// the object served; gate, when not nil, is asked last, before the mark.
func (s *Service) material(ctx context.Context, o *keys.Object, alias string, gate Gate) ([]byte, error) {
	if st := o.EffectiveState(s.keys.Now()); st != kmip.StateActive || o.Archived {
		return nil, fmt.Errorf("%w: key alias %q is %s", ErrUnavailable, alias, ttlv.EnumStr(st))
	}
	sk, ok := o.Value.(*kmip.SymmetricKey)
	if !ok {
		return nil, fmt.Errorf("%w: key alias %q has no key material", ErrUnavailable, alias)
	}
	b, err := sk.KeyBlock.GetBytes()
	if err != nil || len(b) != keySize {
		return nil, fmt.Errorf("%w: key alias %q has no AES-256 key material", ErrUnavailable, alias)
	}
	if gate != nil {
		if err := gate(o); err != nil {
			return nil, fmt.Errorf("%w: key alias %q: %w", ErrRefused, alias, err)
		}
	}
	if err := s.keys.MarkServed(ctx, o); err != nil {
		return nil, fmt.Errorf("keygroups: mark %q served: %w", alias, err)
	}
	return append([]byte(nil), b...), nil
}
