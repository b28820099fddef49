package keys

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/store"
)

// bucketClaims holds name claims: the key is a blind index key of the
// claim's space and name, the value the claim's owner sealed by the
// barrier (bucket and key as additional data).
const bucketClaims = "claims"

// ErrClaimed is returned by RegisterClaiming and CreateClaiming when a
// claim they were to write changed after ReadClaims read it: another
// writer took the name first. Nothing was written. The caller reads the
// claims again and decides whether the name is still free.
var ErrClaimed = errors.New("keys: name claimed concurrently")

// Claim is a name that a service keeps unique within a space of its own
// (a label name, a key group name, an LTO key alias), as ReadClaims read
// it. A name's uniqueness is decided by the store: RegisterClaiming and
// CreateClaiming write the claim together with the new object, in one
// store command whose precondition is that the claim is still what
// ReadClaims read (absent, or the very record read). Of two writers that
// read the same claim, exactly one writes; the other gets ErrClaimed, on a
// single node and in a cluster alike (the precondition is part of the
// replicated command).
//
// A claim does not outlive its meaning by itself: an object renamed or
// destroyed leaves its claim behind. The service therefore reads the
// claim first, then decides from its own data whether the name is taken
// (the owner still holds it) or free (the claim is stale, or absent), and
// then writes: a claim read before that check pins what the check saw.
type Claim struct {
	// Space and Name are what is claimed.
	Space, Name string
	// Owner is what the claim's writer named as the owner (a group name,
	// an object id); empty when the name is unclaimed.
	Owner string

	key  []byte
	prev []byte // the sealed record read; nil when absent
}

// Held reports whether the name was claimed when ReadClaims read it.
func (c Claim) Held() bool { return c.prev != nil }

// claimKey is the store key of a claim: no part of the name is in clear.
func (m *Manager) claimKey(space, name string) []byte {
	return m.seal.IndexKey([]byte("claim"), []byte(space), []byte(name))
}

// ReadClaims reads the claims of names in space, in one consistent view.
func (m *Manager) ReadClaims(space string, names ...string) ([]Claim, error) {
	out := make([]Claim, len(names))
	for i, n := range names {
		out[i] = Claim{Space: space, Name: n, key: m.claimKey(space, n)}
	}
	err := m.st.View(func(r store.Reader) error {
		for i := range out {
			v, err := r.Get(bucketClaims, out[i].key)
			switch {
			case errors.Is(err, store.ErrNotFound):
				continue
			case err != nil:
				return err
			}
			out[i].prev = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("keys: read claims in %q: %w", space, err)
	}
	for i := range out {
		if out[i].prev == nil {
			continue
		}
		owner, err := m.seal.Open(bucketClaims, out[i].key, out[i].prev)
		if err != nil {
			m.log.Error("stored name claim failed authentication", "space", space, "err", err)
			return nil, fmt.Errorf("%w: claim in %q", ErrCorrupted, space)
		}
		out[i].Owner = string(owner)
	}
	return out, nil
}

// claim adds to cmd each claim's precondition (still as read) and its new
// record naming owner.
func (m *Manager) claim(cmd *store.Command, claims []Claim, owner string) error {
	for _, c := range claims {
		if c.key == nil {
			return fmt.Errorf("keys: claim %q in %q was not read with ReadClaims", c.Name, c.Space)
		}
		if c.prev == nil {
			cmd.RequireAbsent(bucketClaims, c.key)
		} else {
			cmd.RequireEqual(bucketClaims, c.key, c.prev)
		}
		sealed, err := m.seal.Seal(bucketClaims, c.key, []byte(owner))
		if err != nil {
			return fmt.Errorf("keys: seal claim in %q: %w", c.Space, err)
		}
		cmd.Put(bucketClaims, c.key, sealed)
	}
	return nil
}

// insertClaiming is insert with claims written in the same command; an
// empty owner names the first object.
func (m *Manager) insertClaiming(ctx context.Context, claims []Claim, owner string, objs ...*Object) error {
	if len(claims) == 0 {
		return m.insert(ctx, objs...)
	}
	if err := writable(ctx); err != nil {
		return err
	}
	group, own := accessOf(ctx).Group, accessOf(ctx).Owner
	var cmd store.Command
	for _, o := range objs {
		o.Group, o.Owner = group, own
		if err := m.write(&cmd, nil, o); err != nil {
			return err
		}
	}
	if owner == "" && len(objs) > 0 {
		owner = objs[0].ID
	}
	if err := m.claim(&cmd, claims, owner); err != nil {
		return err
	}
	err := m.apply(ctx, cmd)
	if errors.Is(err, store.ErrConflict) {
		// The object ids are fresh: the claims are what changed.
		return fmt.Errorf("keys: insert: %w", ErrClaimed)
	}
	if err != nil {
		return fmt.Errorf("keys: insert: %w", err)
	}
	return nil
}

// RegisterClaiming is Register that also writes claims (read by
// ReadClaims) naming owner (the new object's id when empty), in the same
// store command as the object: both are written, or neither. It returns
// ErrClaimed when one of the claims changed since it was read.
func (m *Manager) RegisterClaiming(ctx context.Context, claims []Claim, owner string, typ kmip.ObjectType, value kmip.Object, attrs []kmip.Attribute) (*Object, error) {
	return m.register(ctx, claims, owner, typ, value, attrs)
}

// CreateClaiming is Create that also writes claims, as RegisterClaiming
// does.
func (m *Manager) CreateClaiming(ctx context.Context, claims []Claim, owner string, typ kmip.ObjectType, attrs []kmip.Attribute) (*Object, error) {
	return m.create(ctx, claims, owner, typ, attrs)
}
