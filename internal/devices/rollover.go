package devices

import (
	"context"
	"slices"
	"time"
)

// MaxRollovers bounds the rollovers a group may have scheduled at once.
const MaxRollovers = 16

// Rollover switches a group's default labels (alias 1, alias 2) and/or its
// LTO key group at a set time: the certificate rollover of the seed's key
// labels, and the rollover of LTO drives to a new key group. An empty field
// leaves that default as it is.
//
// A rollover takes effect when the registry's clock reaches At: from then
// on Group and Groups report the new defaults, so every write chooses its
// labels (or key group) from them. Nothing runs in the background; the
// stored group record is compacted (the rollover removed, its values
// written) by the next change to the group. Volumes written under the old
// labels or key group stay readable: reads find their keys by label, key
// hash or key identifier, never through the group. Changing a default
// directly (ModifyGroup) does not cancel a rollover still to come.
type Rollover struct {
	// At is when the rollover takes effect (UTC, to the second).
	At       time.Time `json:"at"`
	Alias1   string    `json:"alias1,omitempty"`
	Alias2   string    `json:"alias2,omitempty"`
	KeyGroup string    `json:"key_group,omitempty"`
	// Scheduled is when an administrator asked for it.
	Scheduled time.Time `json:"scheduled,omitzero"`
}

// normalizeRollovers checks rs and returns them sorted by time, in UTC to
// the second; a later entry for the same time replaces an earlier one.
func normalizeRollovers(rs []Rollover) ([]Rollover, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	out := make([]Rollover, 0, len(rs))
	for _, ro := range rs {
		if ro.At.IsZero() {
			return nil, invalidf("rollover: a time is required")
		}
		if ro.Alias1 == "" && ro.Alias2 == "" && ro.KeyGroup == "" {
			return nil, invalidf("rollover at %s: give alias1, alias2 or a key group", ro.At.UTC().Format(time.RFC3339))
		}
		for _, l := range []struct{ field, v string }{{"rollover alias1", ro.Alias1}, {"rollover alias2", ro.Alias2}, {"rollover key group", ro.KeyGroup}} {
			if err := checkLabel(l.field, l.v, maxLabelLen, false); err != nil {
				return nil, err
			}
		}
		ro.At = ro.At.UTC().Truncate(time.Second)
		if !ro.Scheduled.IsZero() {
			ro.Scheduled = ro.Scheduled.UTC().Truncate(time.Second)
		}
		out = slices.DeleteFunc(out, func(x Rollover) bool { return x.At.Equal(ro.At) })
		out = append(out, ro)
	}
	slices.SortStableFunc(out, func(a, b Rollover) int { return a.At.Compare(b.At) })
	if len(out) > MaxRollovers {
		return nil, invalidf("at most %d rollovers may be scheduled for a group", MaxRollovers)
	}
	return out, nil
}

// applyDue returns g with every rollover whose time has come (At not after
// now) applied in time order and removed from the schedule.
func applyDue(g Group, now time.Time) Group {
	n := 0
	for _, ro := range g.Rollovers {
		if ro.At.After(now) {
			break
		}
		g.Alias1 = firstSet(ro.Alias1, g.Alias1)
		g.Alias2 = firstSet(ro.Alias2, g.Alias2)
		g.KeyGroup = firstSet(ro.KeyGroup, g.KeyGroup)
		n++
	}
	if n > 0 {
		g.Rollovers = slices.Clone(g.Rollovers[n:])
	}
	if len(g.Rollovers) == 0 {
		g.Rollovers = nil
	}
	return g
}

func firstSet(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// ScheduleRollover schedules ro for the group named name and returns the
// group as it now stands. A time in the past (or now) takes effect at once.
// A rollover for the same time as one already scheduled replaces it. The
// registry does not check that the labels or key group exist: the caller
// (the admin API) does, against the label and key group services.
func (r *Registry) ScheduleRollover(ctx context.Context, name string, ro Rollover) (Group, error) {
	ro.Scheduled = r.clock()
	if _, err := normalizeRollovers([]Rollover{ro}); err != nil {
		return Group{}, err
	}
	g, err := r.ModifyGroup(ctx, name, func(g *Group) error {
		g.Rollovers = append(g.Rollovers, ro)
		return nil
	})
	if err != nil {
		return Group{}, err
	}
	r.log.Info("devices: rollover scheduled", "group", g.Name, "at", ro.At.UTC().Format(time.RFC3339),
		"alias1", ro.Alias1, "alias2", ro.Alias2, "key_group", ro.KeyGroup)
	return g, nil
}

// CancelRollover removes the rollover scheduled for time at from the group
// named name; a rollover that has already taken effect cannot be cancelled
// (ErrNotFound): schedule another one instead.
func (r *Registry) CancelRollover(ctx context.Context, name string, at time.Time) (Group, error) {
	at = at.UTC().Truncate(time.Second)
	g, err := r.ModifyGroup(ctx, name, func(g *Group) error {
		n := len(g.Rollovers)
		g.Rollovers = slices.DeleteFunc(g.Rollovers, func(ro Rollover) bool { return ro.At.Equal(at) })
		if len(g.Rollovers) == n {
			return notFoundf("group %q has no rollover scheduled at %s", g.Name, at.Format(time.RFC3339))
		}
		return nil
	})
	if err != nil {
		return Group{}, err
	}
	r.log.Info("devices: rollover cancelled", "group", g.Name, "at", at.Format(time.RFC3339))
	return g, nil
}
