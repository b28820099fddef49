package keygroups

import (
	"context"
	"errors"
	"fmt"
	"strings"

	kmip "github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// Spaces of the keys.Manager's name claims that key groups take: a group
// name, and an alias in lower case (aliases compare without case).
const (
	groupClaimSpace = "keygroup"
	aliasClaimSpace = "lto-alias"
)

// maxClaimTries bounds how often claimFirst reads the claims again after
// another writer changed one.
const maxClaimTries = 8

// createFirst checks that no key group is named name and that no key group
// key has one of aliases, then creates the group's first key, taking the
// group name and every alias in the same store command (see claimFirst).
func (s *Service) createFirst(ctx context.Context, name string, aliases []string) (*keys.Object, error) {
	return s.claimFirst(ctx, "create", name, aliases, aliases[0], func(claims []keys.Claim) (*keys.Object, error) {
		return s.keys.CreateClaiming(ctx, claims, name, kmip.ObjectTypeSymmetricKey, keyAttrs(name, aliases[0], keySize*8))
	})
}

// claimFirst checks that no key group is named name and that no key group
// key has one of aliases, then calls write to write the group's first key
// (of alias first) with the claims of the group name and of every alias,
// so that they are taken in the same store command, under the
// precondition that they are still as read before the checks. Of two
// creations or imports that want one name or one alias, one writes and
// the other is refused with ErrExists, as a later one is. It writes
// nothing when it fails; op names the operation in its errors.
//
// A claim names the group that took it. An alias claim stays taken while
// that group has keys, even before the key of that alias is written, so a
// concurrent creation cannot take an alias of a group still being written;
// a claim left by a group that has no keys any more, or whose alias no key
// has, is stale and taken over under the same precondition.
func (s *Service) claimFirst(ctx context.Context, op, name string, aliases []string, first string, write func([]keys.Claim) (*keys.Object, error)) (*keys.Object, error) {
	lower := make([]string, len(aliases))
	for i, a := range aliases {
		lower[i] = strings.ToLower(a)
	}
	for range maxClaimTries {
		// The claims are read first: the checks then see every group
		// whose write left them as read.
		gc, err := s.keys.ReadClaims(groupClaimSpace, name)
		if err != nil {
			return nil, fmt.Errorf("keygroups: %s %q: %w", op, name, err)
		}
		ac, err := s.keys.ReadClaims(aliasClaimSpace, lower...)
		if err != nil {
			return nil, fmt.Errorf("keygroups: %s %q: %w", op, name, err)
		}
		if err := s.checkFree(ctx, name, aliases, ac); err != nil {
			return nil, err
		}
		o, err := write(append(gc, ac...))
		if errors.Is(err, keys.ErrClaimed) {
			continue // another writer took a name: look again
		}
		if err != nil {
			return nil, fmt.Errorf("keygroups: %s %q: key %q: %w", op, name, first, err)
		}
		return o, nil
	}
	return nil, fmt.Errorf("keygroups: %s %q: %w", op, name, keys.ErrConflict)
}

// checkFree returns ErrExists when a key group is named name, or when an
// alias is a key group key's or is claimed by a key group that has keys
// (claims as ReadClaims read them, in the order of aliases).
func (s *Service) checkFree(ctx context.Context, name string, aliases []string, claims []keys.Claim) error {
	if ids, err := s.groupIDs(ctx, name); err != nil {
		return err
	} else if len(ids) > 0 {
		return fmt.Errorf("%w: key group %q", ErrExists, name)
	}
	live := map[string]bool{} // claim owners that have keys
	for i, a := range aliases {
		if _, err := s.find(ctx, a); err == nil || errors.Is(err, ErrUnavailable) {
			return fmt.Errorf("%w: alias %q", ErrExists, a)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		c := claims[i]
		if !c.Held() || c.Owner == "" {
			continue
		}
		has, seen := live[c.Owner]
		if !seen {
			ids, err := s.groupIDs(ctx, c.Owner)
			if err != nil {
				return err
			}
			has = len(ids) > 0
			live[c.Owner] = has
		}
		if has {
			return fmt.Errorf("%w: alias %q", ErrExists, a)
		}
	}
	return nil
}
