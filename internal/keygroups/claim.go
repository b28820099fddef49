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

// maxClaimTries bounds how often createFirst reads the claims again after
// another writer changed one.
const maxClaimTries = 8

// createFirst checks that no key group is named name and that no key group
// key has one of aliases, then creates the group's first key, taking the
// group name and every alias in the same store command, under the
// precondition that their claims are still as read before the checks. Of
// two creations that want one name or one alias, one writes and the other
// is refused with ErrExists, as a later creation is. It writes nothing
// when it fails.
//
// A claim names the group that took it. An alias claim stays taken while
// that group has keys, even before the key of that alias is created, so a
// concurrent creation cannot take an alias of a group still being created;
// a claim left by a group that has no keys any more, or whose alias no key
// has, is stale and taken over under the same precondition.
func (s *Service) createFirst(ctx context.Context, name string, aliases []string) (*keys.Object, error) {
	lower := make([]string, len(aliases))
	for i, a := range aliases {
		lower[i] = strings.ToLower(a)
	}
	for range maxClaimTries {
		// The claims are read first: the checks then see every group
		// whose write left them as read.
		gc, err := s.keys.ReadClaims(groupClaimSpace, name)
		if err != nil {
			return nil, fmt.Errorf("keygroups: create %q: %w", name, err)
		}
		ac, err := s.keys.ReadClaims(aliasClaimSpace, lower...)
		if err != nil {
			return nil, fmt.Errorf("keygroups: create %q: %w", name, err)
		}
		if err := s.checkFree(ctx, name, aliases, ac); err != nil {
			return nil, err
		}
		o, err := s.keys.CreateClaiming(ctx, append(gc, ac...), name, kmip.ObjectTypeSymmetricKey, keyAttrs(name, aliases[0]))
		if errors.Is(err, keys.ErrClaimed) {
			continue // another creation took a name: look again
		}
		if err != nil {
			return nil, fmt.Errorf("keygroups: create %q: key %q: %w", name, aliases[0], err)
		}
		return o, nil
	}
	return nil, fmt.Errorf("keygroups: create %q: %w", name, keys.ErrConflict)
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
