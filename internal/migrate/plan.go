package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keywarden/keywarden/internal/importer"
	"github.com/keywarden/keywarden/internal/usage/seedxml"
)

// OnConflict is the explicit choice for an object that exists on the
// server with the same name (or identity) but different content.
type OnConflict string

// The choices. Identical objects are always skipped.
const (
	// Fail refuses the whole migration when anything conflicts.
	Fail OnConflict = "fail"
	// Skip keeps the server's object and does not migrate the other.
	Skip OnConflict = "skip"
	// Rename migrates a conflicting label or key group under a new name
	// (NAME_ekm, NAME_ekm2, …); drives and groups cannot be renamed and
	// still conflict.
	Rename OnConflict = "rename"
)

// ParseOnConflict returns the choice named s.
func ParseOnConflict(s string) (OnConflict, error) {
	if _, ok := onConflictWords.Policy(s); ok {
		return OnConflict(s), nil
	}
	return "", fmt.Errorf("migrate: --on-conflict %q: want fail, skip or rename", s)
}

// resolve is what o does with a conflict. Under Rename, a conflict that
// cannot be renamed (a drive, a group, a label whose key is already
// another label) is skipped: reported as a conflict and not migrated.
func (o OnConflict) resolve(renamable bool) importer.Verdict {
	p, _ := onConflictWords.Policy(string(o))
	return p.Resolve(renamable, importer.Skipped)
}

// onConflictWords are the choices' words on the wire and the command line.
var onConflictWords = importer.Words{Refuse: string(Fail), Skip: string(Skip), Rename: string(Rename)}

// ErrConflict is returned by NewPlan under Fail when objects conflict.
var ErrConflict = errors.New("migrate: conflicts with existing objects")

// Verb says what the plan does with an item.
type Verb string

// The verbs.
const (
	Create    Verb = "create"
	Update    Verb = "update"    // set a group's default labels
	Identical Verb = "identical" // already on the server: skipped
	Conflict  Verb = "conflict"  // differs from the server's: not migrated (Fail aborts)
	Renamed   Verb = "rename"    // created under another name
)

// Item is one line of a plan.
type Item struct {
	Kind   string // label, partner, group, defaults, device, keygroup, usage
	Name   string
	Verb   Verb
	Detail string

	label    *Label
	drive    *Drive
	group    *ExistingGroup
	keyGroup *KeyGroup
	defaults *[2]string
	prev     *[2]string
}

// Plan is what a migration does, item by item.
type Plan struct {
	Items    []Item
	Warnings []string
	// Usage holds the metadata events not yet on the server.
	Usage []seedxml.Event
	// UsageKnown counts the events already on the server.
	UsageKnown int
}

// Conflicts returns the conflicting items.
func (p *Plan) Conflicts() []Item {
	var out []Item
	for _, it := range p.Items {
		if it.Verb == Conflict {
			out = append(out, it)
		}
	}
	return out
}

// Writes counts the write requests Apply makes (for a progress bar).
func (p *Plan) Writes() int {
	n := 0
	for _, it := range p.Items {
		if it.Verb == Create || it.Verb == Update || it.Verb == Renamed {
			n++
		}
	}
	return n
}

// state indexes a State.
type state struct {
	labels    map[string]ExistingLabel // by name
	byHash    map[string]string        // key hash → label name
	groups    map[string]ExistingGroup
	devices   map[string]ExistingDevice // family/serial
	keyGroups map[string]ExistingKeyGroup
	aliases   map[string]string // LTO alias (lower case) → key group
	usage     map[string]bool
}

func fetch(ctx context.Context, t Target) (*state, error) {
	st, err := t.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: read the server's state: %w", err)
	}
	s := &state{labels: map[string]ExistingLabel{}, byHash: map[string]string{}, groups: map[string]ExistingGroup{},
		devices: map[string]ExistingDevice{}, keyGroups: map[string]ExistingKeyGroup{}, aliases: map[string]string{},
		usage: map[string]bool{}}
	for _, l := range st.Labels {
		s.labels[l.Name] = l
		if !l.Destroyed {
			s.byHash[l.KeyHash] = l.Name
		}
	}
	for _, g := range st.Groups {
		s.groups[g.Name] = g
	}
	for _, d := range st.Devices {
		s.devices[d.Family+"/"+d.Serial] = d
	}
	for _, g := range st.KeyGroups {
		s.keyGroups[g.Name] = g
		for _, a := range g.Aliases {
			s.aliases[strings.ToLower(a)] = g.Name
		}
	}
	for _, e := range st.Usage {
		s.usage[usageKey(e)] = true
	}
	return s, nil
}

// NewPlan compares b with what t holds and decides every item under the
// policy on. Under Fail, conflicts make it return the plan (for the report)
// and an error matching ErrConflict.
func NewPlan(ctx context.Context, t Target, b *Bundle, on OnConflict) (*Plan, error) {
	s, err := fetch(ctx, t)
	if err != nil {
		return nil, err
	}
	p := &Plan{Warnings: append([]string(nil), b.Warnings...)}
	renames := map[string]string{}
	p.planLabels(s, b, on, renames)
	rn := func(n string) string {
		if r, ok := renames[n]; ok {
			return r
		}
		return n
	}
	p.planGroups(s, b, rn)
	p.planDevices(s, b, rn)
	p.planKeyGroups(s, b, on)
	p.planUsage(s, b)
	if c := p.Conflicts(); len(c) > 0 && on.resolve(false) == importer.Refused {
		names := make([]string, 0, len(c))
		for _, it := range c {
			names = append(names, it.Kind+" "+it.Name)
		}
		return p, fmt.Errorf("%w: %s; choose --on-conflict skip or rename", ErrConflict, strings.Join(names, ", "))
	}
	return p, nil
}

func (p *Plan) planLabels(s *state, b *Bundle, on OnConflict, renames map[string]string) {
	taken := func(n string) bool { _, ok := s.labels[n]; return ok }
	seen := map[string]bool{}
	for i := range b.Labels {
		lb := &b.Labels[i]
		kind := "label"
		if len(lb.KeyPEM) == 0 {
			kind = "partner"
		}
		it := Item{Kind: kind, Name: lb.Name, label: lb, Detail: fmt.Sprintf("RSA-%d from %s", lb.Bits, lb.From)}
		if lb.Bits <= 1024 {
			it.Detail += " (RSA-1024: accepted for migrated labels, with a warning; rekey to a stronger label)"
		}
		if seen[lb.Name] {
			it.Verb, it.Detail = Conflict, "the sources hold two labels of this name"
			p.Items = append(p.Items, it)
			continue
		}
		seen[lb.Name] = true
		cur, exists := s.labels[lb.Name]
		other, sameKey := s.byHash[lb.KeyHash]
		switch {
		case sameKey && other != lb.Name && on == Rename && isRenameOf(other, lb.Name):
			renames[lb.Name] = other
			it.Verb, it.Name, it.Detail = Identical, other, fmt.Sprintf("already imported as %q", other)
		case exists && cur.Destroyed && on.resolve(true) == importer.Renamed:
			n := freeName(lb.Name, taken)
			renames[lb.Name] = n
			s.labels[n] = ExistingLabel{Name: n}
			it.Verb, it.Detail = Renamed, fmt.Sprintf("a revoked or destroyed label %q has the name: imported as %q", lb.Name, n)
			it.Name = n
		case exists && cur.Destroyed:
			it.Verb, it.Detail = Conflict, fmt.Sprintf("a revoked or destroyed label %q has the name", lb.Name)
		case exists && !cur.Destroyed && cur.KeyHash == lb.KeyHash && (cur.HasPrivateKey || len(lb.KeyPEM) == 0):
			it.Verb, it.Detail = Identical, "already on the server with the same key"
		case !exists && sameKey:
			it.Verb, it.Detail = Conflict, fmt.Sprintf("the same key is already label %q", other)
		case exists && on.resolve(true) == importer.Renamed:
			n := freeName(lb.Name, taken)
			renames[lb.Name] = n
			s.labels[n] = ExistingLabel{Name: n}
			it.Verb, it.Detail = Renamed, fmt.Sprintf("a different label %q exists: imported as %q", lb.Name, n)
			it.Name = n
		case exists:
			it.Verb, it.Detail = Conflict, fmt.Sprintf("a different label %q exists (key hash %.12s…, ours %.12s…)", lb.Name, cur.KeyHash, lb.KeyHash)
		default:
			it.Verb = Create
		}
		p.Items = append(p.Items, it)
	}
}

// renamer is the rename scheme of a migration: NAME_ekm, NAME_ekm2, …,
// cut to 64 characters.
var renamer = importer.Renamer{Suffix: "_ekm", MaxLen: 64}

// isRenameOf reports whether name is one freeName makes from base.
func isRenameOf(name, base string) bool { return renamer.IsRenameOf(name, base, 99) }

// freeName returns NAME_ekm, NAME_ekm2, … the first not taken.
func freeName(name string, taken func(string) bool) string {
	n, _ := renamer.First(name, 0, func(c string) (bool, error) { return !taken(c), nil })
	return n
}

func (p *Plan) planGroups(s *state, b *Bundle, rn func(string) string) {
	want := map[string]bool{}
	var order []string
	for _, d := range b.Drives {
		g := d.Group
		if g == "" {
			g = b.Group
		}
		if !want[g] {
			want[g] = true
			order = append(order, g)
		}
	}
	if b.Alias1 != "" || b.Alias2 != "" {
		if !want[b.Group] {
			order = append(order, b.Group)
		}
	}
	created := false
	for _, g := range order {
		if _, ok := s.groups[g]; ok {
			continue
		}
		created = created || g == b.Group
		spec := &ExistingGroup{Name: g, Family: "3592"}
		if g == b.Group {
			spec.Alias1, spec.Alias2 = rn(b.Alias1), rn(b.Alias2)
		}
		p.Items = append(p.Items, Item{Kind: "group", Name: g, Verb: Create, group: spec,
			Detail: fmt.Sprintf("device group (3592), default labels %q and %q", spec.Alias1, spec.Alias2)})
		s.groups[g] = *spec
	}
	if b.Alias1 == "" && b.Alias2 == "" || created {
		return // a group created here carries the defaults already
	}
	g := s.groups[b.Group]
	a1, a2 := rn(b.Alias1), rn(b.Alias2)
	it := Item{Kind: "defaults", Name: b.Group, Detail: fmt.Sprintf("drive.default.alias1=%s, drive.default.alias2=%s", a1, a2)}
	switch {
	case g.Alias1 == a1 && g.Alias2 == a2:
		it.Verb = Identical
	case g.Alias1 == "" && g.Alias2 == "":
		it.Verb = Update
		it.defaults = &[2]string{a1, a2}
		it.prev = &[2]string{g.Alias1, g.Alias2}
	default:
		it.Verb = Conflict
		it.Detail = fmt.Sprintf("group %q already has default labels %q and %q", b.Group, g.Alias1, g.Alias2)
	}
	p.Items = append(p.Items, it)
}

func (p *Plan) planDevices(s *state, b *Bundle, rn func(string) string) {
	for i := range b.Drives {
		d := b.Drives[i]
		d.Alias1, d.Alias2 = rn(d.Alias1), rn(d.Alias2)
		if d.Group == "" {
			d.Group = b.Group
		}
		it := Item{Kind: "device", Name: d.Family + " " + d.Serial, drive: &d,
			Detail: fmt.Sprintf("wwn %s, labels %q %q, group %s", d.WWN, d.Alias1, d.Alias2, d.Group)}
		cur, ok := s.devices[d.Family+"/"+d.Serial]
		switch {
		case !ok:
			it.Verb = Create
		case strings.EqualFold(cur.WWN, d.WWN) && cur.Alias1 == d.Alias1 && cur.Alias2 == d.Alias2 && cur.Group == d.Group:
			it.Verb, it.Detail = Identical, "already in the device table"
		default:
			it.Verb = Conflict
			it.Detail = fmt.Sprintf("in the device table as %s (wwn %s, labels %q %q, group %s)", cur.ID, cur.WWN, cur.Alias1, cur.Alias2, cur.Group)
		}
		p.Items = append(p.Items, it)
	}
}

func (p *Plan) planKeyGroups(s *state, b *Bundle, on OnConflict) {
	for i := range b.KeyGroups {
		g := b.KeyGroups[i]
		it := Item{Kind: "keygroup", Name: g.Name, keyGroup: &g, Detail: fmt.Sprintf("%s (%d keys)", g.Aliases, len(g.Expanded))}
		cur, exists := s.keyGroups[g.Name]
		var clash []string
		for _, a := range g.Expanded {
			if owner, ok := s.aliases[strings.ToLower(a)]; ok && owner != g.Name {
				clash = append(clash, a+" (in "+owner+")")
			}
		}
		renamed, ok := s.keyGroups[ownerOf(s, g.Expanded)]
		switch {
		case exists && cur.Destroyed:
			it.Verb, it.Detail = Conflict, "a key group of this name exists with every key destroyed "+
				"(an undone migration leaves one); its name and aliases cannot be reused"
		case exists && sameAliases(cur, g.Expanded):
			it.Verb, it.Detail = Identical, "already on the server with the same aliases"
		case ok && on == Rename && isRenameOf(renamed.Name, g.Name) && sameAliases(renamed, g.Expanded):
			it.Verb, it.Name, it.Detail = Identical, renamed.Name, fmt.Sprintf("already created as %q", renamed.Name)
		case len(clash) > 0:
			it.Verb, it.Detail = Conflict, "aliases already in use: "+strings.Join(clash, ", ")
		case exists && on.resolve(true) == importer.Renamed:
			n := freeName(g.Name, func(n string) bool { _, ok := s.keyGroups[n]; return ok })
			s.keyGroups[n] = ExistingKeyGroup{Name: n}
			g.Name = n
			it.Verb, it.Name, it.Detail = Renamed, n, fmt.Sprintf("a different key group exists: created as %q", n)
		case exists:
			it.Verb, it.Detail = Conflict, "a key group of this name exists with other aliases"
		default:
			it.Verb = Create
		}
		p.Items = append(p.Items, it)
	}
}

// ownerOf returns the key group owning the first alias, or "".
func ownerOf(s *state, aliases []string) string {
	if len(aliases) == 0 {
		return ""
	}
	return s.aliases[strings.ToLower(aliases[0])]
}

func sameAliases(g ExistingKeyGroup, aliases []string) bool {
	if len(g.Aliases) != len(aliases) {
		return false
	}
	have := make([]string, 0, len(g.Aliases))
	for _, a := range g.Aliases {
		have = append(have, strings.ToLower(a))
	}
	want := make([]string, 0, len(aliases))
	for _, a := range aliases {
		want = append(want, strings.ToLower(a))
	}
	slices.Sort(have)
	slices.Sort(want)
	return slices.Equal(have, want)
}

// usageKey identifies a metadata event; the seed format keeps whole
// seconds.
func usageKey(e seedxml.Event) string {
	return strings.Join([]string{e.VolSer, e.DriveSSN, strings.ToUpper(e.DriveWWN), e.KeyAlias1, e.KeyAlias2,
		e.Time.UTC().Truncate(time.Second).Format(time.RFC3339)}, "\x00")
}

func (p *Plan) planUsage(s *state, b *Bundle) {
	if len(b.Usage) == 0 {
		return
	}
	for _, e := range b.Usage {
		k := usageKey(e)
		if s.usage[k] {
			p.UsageKnown++
			continue
		}
		s.usage[k] = true // a duplicate inside the file is imported once
		p.Usage = append(p.Usage, e)
	}
	it := Item{Kind: "usage", Name: "KeyUsageEvent records", Verb: Create,
		Detail: fmt.Sprintf("%d new, %d already on the server", len(p.Usage), p.UsageKnown)}
	if len(p.Usage) == 0 {
		it.Verb = Identical
	}
	p.Items = append(p.Items, it)
}
