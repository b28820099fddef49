package devices

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/keywarden/keywarden/internal/store"
)

// Group membership and concurrency. A device joins a group when it is
// added, moved to it, or changes family inside it. A joining write
// requires the group record to be unchanged and rewrites the group's join
// marker (bucketIndex, joinKey) with fresh sealed bytes; it does not
// rewrite the group itself, so devices join one group concurrently
// without conflicting. DeleteGroup and a family change of ModifyGroup read
// the group, then the join marker, then the members, and require the group
// and the marker unchanged, so a device that joined meanwhile makes them
// start again and see it.

// group reads the group named name (any case), with the rollovers whose
// time has come applied (sealed is the stored record, which may still hold
// them).
func (v view) group(name string) (Group, []byte, error) {
	var g Group
	if name == "" {
		return Group{}, nil, notFoundf("group name is empty")
	}
	sealed, found, err := v.record(bucketGroups, v.r.groupKey(name), &g)
	if err != nil {
		return Group{}, nil, err
	}
	if !found || !strings.EqualFold(g.Name, name) {
		return Group{}, nil, notFoundf("group %q not found", name)
	}
	return applyDue(g, v.r.now()), sealed, nil
}

// members returns the devices of the group named name.
func (v view) members(name string) ([]Device, error) {
	all, err := scan[Device](v, bucketDevices)
	if err != nil {
		return nil, err
	}
	var out []Device
	for _, d := range all {
		if strings.EqualFold(d.Group, name) {
			out = append(out, d)
		}
	}
	return out, nil
}

// requireNoJoin appends a precondition that no device joined group name
// since the snapshot of v.
func (v view) requireNoJoin(cmd *store.Command, name string) error {
	key := v.r.joinKey(name)
	marker, found, err := v.get(bucketIndex, key)
	if err != nil {
		return err
	}
	if found {
		cmd.RequireEqual(bucketIndex, key, marker)
	} else {
		cmd.RequireAbsent(bucketIndex, key)
	}
	return nil
}

// ensureDefaultGroup creates the group "default" if it is missing.
func (r *Registry) ensureDefaultGroup(ctx context.Context) error {
	g, err := normalizeGroup(Group{Name: DefaultGroup, Family: FamilyGeneric, Unknown: r.policy, Created: r.clock()}, r.policy)
	if err != nil {
		return err
	}
	return r.retry(ctx, "create default group", func(cmd *store.Command) error {
		return r.read(func(v view) error {
			key := r.groupKey(g.Name)
			if _, found, err := v.get(bucketGroups, key); err != nil || found {
				return err
			}
			cmd.RequireAbsent(bucketGroups, key)
			return r.put(cmd, bucketGroups, key, g)
		})
	})
}

// CreateGroup adds a device group. An empty Unknown policy becomes the
// registry's default policy; Created is set to now.
func (r *Registry) CreateGroup(ctx context.Context, g Group) (Group, error) {
	g.Created = r.clock()
	g, err := normalizeGroup(g, r.policy)
	if err != nil {
		return Group{}, err
	}
	g = applyDue(g, r.now())
	err = r.retry(ctx, "create group "+g.Name, func(cmd *store.Command) error {
		return r.read(func(v view) error {
			existing, _, err := v.group(g.Name)
			if err == nil {
				return existsf("group %q already exists", existing.Name)
			}
			if !isNotFound(err) {
				return err
			}
			key := r.groupKey(g.Name)
			cmd.RequireAbsent(bucketGroups, key)
			return r.put(cmd, bucketGroups, key, g)
		})
	})
	if err != nil {
		return Group{}, err
	}
	return g, nil
}

// ModifyGroup lets fn change a copy of the group named name and stores
// it. The name and creation time cannot change. A new family must fit
// every device already in the group.
func (r *Registry) ModifyGroup(ctx context.Context, name string, fn func(*Group) error) (Group, error) {
	var out Group
	err := r.retry(ctx, "modify group "+name, func(cmd *store.Command) error {
		var (
			cur    Group
			sealed []byte
		)
		err := r.read(func(v view) (err error) {
			cur, sealed, err = v.group(name)
			return err
		})
		if err != nil {
			return err
		}
		next := cloneGroup(cur)
		if err := fn(&next); err != nil {
			return err
		}
		if next.Name != cur.Name {
			return invalidf("group %q cannot be renamed (to %q)", cur.Name, next.Name)
		}
		next.Created = cur.Created
		if next, err = normalizeGroup(next, r.policy); err != nil {
			return err
		}
		next = applyDue(next, r.now())
		return r.read(func(v view) error {
			if next.Family != cur.Family && next.Family != FamilyGeneric {
				// The join marker is read before the members: a device
				// joining after the marker was read fails the command.
				if err := v.requireNoJoin(cmd, cur.Name); err != nil {
					return err
				}
				members, err := v.members(cur.Name)
				if err != nil {
					return err
				}
				for _, d := range members {
					if d.Family != next.Family {
						return invalidf("group %q cannot become %s: device %s is %s", cur.Name, next.Family, d.ID, d.Family)
					}
				}
			}
			key := r.groupKey(cur.Name)
			cmd.RequireEqual(bucketGroups, key, sealed)
			out = next
			return r.put(cmd, bucketGroups, key, next)
		})
	})
	if err != nil {
		return Group{}, err
	}
	return out, nil
}

// DeleteGroup removes an empty group. The group "default" cannot be
// deleted; a group with devices is ErrGroupInUse.
func (r *Registry) DeleteGroup(ctx context.Context, name string) error {
	if strings.EqualFold(name, DefaultGroup) {
		return invalidf("group %q cannot be deleted", DefaultGroup)
	}
	return r.retry(ctx, "delete group "+name, func(cmd *store.Command) error {
		return r.read(func(v view) error {
			g, sealed, err := v.group(name)
			if err != nil {
				return err
			}
			// The join marker is read before the members: a device joining
			// after the marker was read fails the command.
			if err := v.requireNoJoin(cmd, g.Name); err != nil {
				return err
			}
			members, err := v.members(g.Name)
			if err != nil {
				return err
			}
			if len(members) > 0 {
				ids := make([]string, 0, 3)
				for _, d := range members[:min(3, len(members))] {
					ids = append(ids, d.ID)
				}
				more := ""
				if len(members) > len(ids) {
					more = ", …"
				}
				return detailf(ErrGroupInUse, "group %q still has %d device(s) (%s%s): move or delete them first",
					g.Name, len(members), strings.Join(ids, ", "), more)
			}
			key := r.groupKey(g.Name)
			cmd.RequireEqual(bucketGroups, key, sealed)
			cmd.Delete(bucketGroups, key)
			cmd.Delete(bucketIndex, r.joinKey(g.Name))
			return nil
		})
	})
}

// Group returns the group named name (any case), with the rollovers whose
// time has come applied: its defaults are those in effect now.
func (r *Registry) Group(name string) (Group, error) {
	var g Group
	err := r.read(func(v view) (err error) {
		g, _, err = v.group(name)
		return err
	})
	return g, err
}

// Groups returns every group, sorted by name, each with the rollovers
// whose time has come applied.
func (r *Registry) Groups() ([]Group, error) {
	var out []Group
	err := r.read(func(v view) (err error) {
		out, err = scan[Group](v, bucketGroups)
		return err
	})
	if err != nil {
		return nil, err
	}
	now := r.now()
	for i := range out {
		out[i] = applyDue(out[i], now)
	}
	slices.SortFunc(out, func(a, b Group) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

func cloneGroup(g Group) Group {
	g.AllowedOps = slices.Clone(g.AllowedOps)
	g.Rollovers = slices.Clone(g.Rollovers)
	return g
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
