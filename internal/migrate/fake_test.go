package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keywarden/keywarden/internal/usage/seedxml"
)

// fakeTarget is an in-memory server. failOn makes the write of one object
// ("device 000007888422", "label NAME", …) fail; failUndo makes undo
// writes fail.
type fakeTarget struct {
	labels    map[string]ExistingLabel
	labelIDs  map[string][]string
	groups    map[string]ExistingGroup
	devices   map[string]ExistingDevice
	keyGroups map[string]ExistingKeyGroup
	usage     []seedxml.Event
	retired   map[string]bool
	nextID    int
	failOn    string
	failUndo  bool
	writes    int
}

func newFake() *fakeTarget {
	return &fakeTarget{labels: map[string]ExistingLabel{}, labelIDs: map[string][]string{}, groups: map[string]ExistingGroup{},
		devices: map[string]ExistingDevice{}, keyGroups: map[string]ExistingKeyGroup{}, retired: map[string]bool{}}
}

var errInjected = errors.New("injected failure")

func (f *fakeTarget) id() string { f.nextID++; return fmt.Sprintf("obj-%d", f.nextID) }

func (f *fakeTarget) fail(what string) error {
	f.writes++
	if f.failOn == what {
		return errInjected
	}
	return nil
}

func (f *fakeTarget) Snapshot(context.Context) (*State, error) {
	st := &State{Usage: append([]seedxml.Event(nil), f.usage...)}
	for _, l := range f.labels {
		st.Labels = append(st.Labels, l)
	}
	for _, g := range f.groups {
		st.Groups = append(st.Groups, g)
	}
	for _, d := range f.devices {
		st.Devices = append(st.Devices, d)
	}
	for _, g := range f.keyGroups {
		st.KeyGroups = append(st.KeyGroups, g)
	}
	return st, nil
}

func (f *fakeTarget) ImportLabel(_ context.Context, l Label) ([]string, error) {
	if err := f.fail("label " + l.Name); err != nil {
		return nil, err
	}
	if _, ok := f.labels[l.Name]; ok {
		return nil, errors.New("label exists")
	}
	f.labels[l.Name] = ExistingLabel{Name: l.Name, KeyHash: l.KeyHash, HasPrivateKey: l.KeyPEM != ""}
	ids := []string{f.id(), f.id(), f.id()}
	f.labelIDs[l.Name] = ids
	return ids, nil
}

func (f *fakeTarget) CreateGroup(_ context.Context, name, family, a1, a2 string) error {
	if err := f.fail("group " + name); err != nil {
		return err
	}
	f.groups[name] = ExistingGroup{Name: name, Family: family, Alias1: a1, Alias2: a2}
	return nil
}

func (f *fakeTarget) SetGroupLabels(_ context.Context, name, a1, a2 string) error {
	if err := f.fail("defaults " + name); err != nil {
		return err
	}
	g := f.groups[name]
	g.Alias1, g.Alias2 = a1, a2
	f.groups[name] = g
	return nil
}

func (f *fakeTarget) DeleteGroup(_ context.Context, name string) error {
	if f.failUndo {
		return errInjected
	}
	delete(f.groups, name)
	return nil
}

func (f *fakeTarget) AddDevice(_ context.Context, d Drive) (string, error) {
	if err := f.fail("device " + d.Serial); err != nil {
		return "", err
	}
	id := "dev-" + d.Serial
	f.devices[d.Family+"/"+d.Serial] = ExistingDevice{ID: id, Family: d.Family, Serial: d.Serial, WWN: d.WWN,
		Alias1: d.Alias1, Alias2: d.Alias2, Group: d.Group}
	return id, nil
}

func (f *fakeTarget) DeleteDevice(_ context.Context, id string) error {
	if f.failUndo {
		return errInjected
	}
	for k, d := range f.devices {
		if d.ID == id {
			delete(f.devices, k)
		}
	}
	return nil
}

func (f *fakeTarget) CreateKeyGroup(_ context.Context, name, aliases string) ([]string, error) {
	if err := f.fail("keygroup " + name); err != nil {
		return nil, err
	}
	g, err := newKeyGroup(name, aliases)
	if err != nil {
		return nil, err
	}
	f.keyGroups[name] = ExistingKeyGroup{Name: name, Aliases: g.Expanded}
	ids := make([]string, len(g.Expanded))
	for i := range ids {
		ids[i] = f.id()
	}
	return ids, nil
}

func (f *fakeTarget) Retire(_ context.Context, ids []string) error {
	if f.failUndo {
		return errInjected
	}
	for _, id := range ids {
		f.retired[id] = true
	}
	// A retired label is no longer listed, as on the server.
	for name, lids := range f.labelIDs {
		if len(lids) > 0 && f.retired[lids[0]] {
			delete(f.labels, name)
		}
	}
	return nil
}

func (f *fakeTarget) ImportUsage(_ context.Context, events []seedxml.Event) (int, error) {
	if err := f.fail("usage"); err != nil {
		return 0, err
	}
	f.usage = append(f.usage, events...)
	return len(events), nil
}

// dump describes the fake's content, to compare states.
func (f *fakeTarget) dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "labels=%v groups=%v devices=%v keygroups=%d usage=%d", len(f.labels), f.groups, f.devices, len(f.keyGroups), len(f.usage))
	return b.String()
}
