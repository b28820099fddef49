package keys

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/store"
)

// oldCustomKey is the index key the version 1 code gave a custom attribute
// written from Go code as a plain string: the blind value of the string
// itself, where the record reads back a ttlv.Value.
func oldCustomKey(m *Manager, name kmip.AttributeName, value, id string) []byte {
	blind := m.seal.IndexKey([]byte{idxCustom}, []byte(name), []byte(value))
	return append(append([]byte{idxCustom}, blind...), id...)
}

// writeOld stores o as the version 1 code did: the record of o with its
// attributes in the Go form given, and exactly the index entries extra
// besides those of its other attributes (custom ones are left to extra).
func writeOld(t *testing.T, m *Manager, st store.Store, o *Object, extra ...[]byte) {
	t.Helper()
	cur, err := m.load(o.ID)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := encodeObject(o)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := m.seal.Seal(bucketObjects, []byte(o.ID), plain)
	if err != nil {
		t.Fatal(err)
	}
	var cmd store.Command
	cmd.RequireEqual(bucketObjects, []byte(o.ID), cur.sealed)
	cmd.Put(bucketObjects, []byte(o.ID), sealed)
	for _, k := range extra {
		cmd.Put(bucketIndex, k, []byte{})
	}
	if err := st.Apply(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
}

// withGoAttr returns a copy of o with a custom attribute in a Go form.
func withGoAttr(o *Object, v any) *Object {
	c := o.Clone()
	c.Attrs = append(c.Attrs, kmip.Attribute{AttributeName: attrGroup, AttributeValue: v})
	return c
}

// oldStore builds a store as version 1 left it: an object written with a
// plain string (its record's own key missing, the string's key present),
// one modified from "g-a" to "g-b" (the key of "g-a" left behind), one
// with an int32 (not indexed at all), a dangling entry, and one object
// written as a KMIP client would, whose index is right.
func oldStore(t *testing.T) (m *Manager, st store.Store, ids map[string]string) {
	t.Helper()
	ctx := context.Background()
	m, bolt := newTestManager(t)
	ids = map[string]string{}
	for _, n := range []string{"plain", "modified", "int32", "client"} {
		o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs(n))
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = o.ID
		switch n {
		case "plain":
			writeOld(t, m, bolt, withGoAttr(o, "g-old"), oldCustomKey(m, attrGroup, "g-old", o.ID))
		case "modified":
			writeOld(t, m, bolt, withGoAttr(o, "g-b"),
				oldCustomKey(m, attrGroup, "g-a", o.ID), oldCustomKey(m, attrGroup, "g-b", o.ID))
		case "int32":
			writeOld(t, m, bolt, withGoAttr(o, int32(7)))
		case "client":
			if _, err := m.AddAttribute(ctx, o.ID, kmip.Attribute{AttributeName: attrGroup,
				AttributeValue: ttlv.Value{Tag: kmip.TagAttributeValue, Value: "g-client"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var cmd store.Command
	cmd.Put(bucketIndex, oldCustomKey(m, attrGroup, "gone", "01a20000-0000-7000-8000-000000000000"), []byte{})
	if err := bolt.Apply(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	// A Manager that never saw the records (nothing cached).
	m, err := New(Options{Store: bolt, Barrier: m.seal})
	if err != nil {
		t.Fatal(err)
	}
	return m, bolt, ids
}

// countingStore counts the commands applied; before, when set, runs once
// before the next command is applied.
type countingStore struct {
	store.Store
	mu      sync.Mutex
	applies int
	before  func()
}

func (s *countingStore) Apply(ctx context.Context, cmd store.Command) error {
	s.mu.Lock()
	s.applies++
	f := s.before
	s.before = nil
	s.mu.Unlock()
	if f != nil {
		f()
	}
	return s.Store.Apply(ctx, cmd)
}

func TestRepairIndexOfOldStore(t *testing.T) {
	ctx := context.Background()
	m, st, ids := oldStore(t)
	locate := func(m *Manager, v any) []string {
		t.Helper()
		got, _, err := m.Locate(ctx, LocateQuery{Attributes: []kmip.Attribute{{AttributeName: attrGroup, AttributeValue: v}}})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	stale, missing := indexDiff(t, m, st)
	if len(stale) != 4 || len(missing) != 3 {
		t.Fatalf("old store: %d stale and %d missing entries, want 4 and 3", len(stale), len(missing))
	}
	if got := locate(m, "g-b"); len(got) != 0 {
		t.Fatalf("old store: Locate found %q without its index entry", got)
	}

	cs := &countingStore{Store: st}
	rm, err := New(Options{Store: cs, Barrier: m.seal})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := rm.RepairIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := IndexRepair{Objects: 4, Removed: 4, Added: 3}
	if rep != want {
		t.Errorf("repair = %+v, want %+v", rep, want)
	}
	checkIndex(t, m, st)
	for _, c := range []struct {
		value any
		want  []string
	}{
		{"g-old", []string{ids["plain"]}},
		{"g-a", nil},
		{"g-b", []string{ids["modified"]}},
		{int32(7), []string{ids["int32"]}},
		{7, []string{ids["int32"]}},
		{ttlv.Value{Tag: kmip.TagAttributeValue, Value: "g-client"}, []string{ids["client"]}},
		{"g-client", []string{ids["client"]}},
	} {
		if got := locate(rm, c.value); !slices.Equal(got, c.want) {
			t.Errorf("Locate %v = %q, want %q", c.value, got, c.want)
		}
	}

	t.Run("sealed version record", func(t *testing.T) {
		err := st.View(func(r store.Reader) error {
			v, err := r.Get(bucketMeta, []byte(indexVersionKey))
			if err == nil && bytes.Contains(v, []byte("version")) {
				t.Error("the index version record is stored in the clear")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("second run writes nothing", func(t *testing.T) {
		before := cs.applies
		rep, err := rm.RepairIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.AlreadyDone || cs.applies != before {
			t.Errorf("second repair = %+v with %d commands, want already done with none", rep, cs.applies-before)
		}
	})
	t.Run("modify and delete after repair", func(t *testing.T) {
		if _, err := rm.ModifyAttribute(ctx, ids["modified"], kmip.Attribute{AttributeName: attrGroup, AttributeValue: "g-c"}); err != nil {
			t.Fatal(err)
		}
		if _, err := rm.DeleteAttribute(ctx, ids["plain"], attrGroup, nil); err != nil {
			t.Fatal(err)
		}
		checkIndex(t, m, st)
		if got := locate(rm, "g-b"); len(got) != 0 {
			t.Errorf("Locate by the old value = %q", got)
		}
		if got := locate(rm, "g-c"); !slices.Equal(got, []string{ids["modified"]}) {
			t.Errorf("Locate by the new value = %q", got)
		}
	})
	t.Run("without its record, the repair finds nothing to do", func(t *testing.T) {
		var cmd store.Command
		cmd.Delete(bucketMeta, []byte(indexVersionKey))
		if err := st.Apply(ctx, cmd); err != nil {
			t.Fatal(err)
		}
		rep, err := rm.RepairIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (IndexRepair{Objects: 4}); rep != want {
			t.Errorf("repair of a repaired index = %+v, want %+v", rep, want)
		}
		checkIndex(t, m, st)
	})
}

// TestRepairIndexRetriesAfterAnotherWriter: an object changed by another
// writer between the repair's read and its command fails the command's
// precondition; the repair reads again and still leaves a right index.
func TestRepairIndexRetriesAfterAnotherWriter(t *testing.T) {
	ctx := context.Background()
	m, st, ids := oldStore(t)
	cs := &countingStore{Store: st}
	cs.before = func() {
		if _, err := m.ModifyAttribute(ctx, ids["modified"], kmip.Attribute{AttributeName: attrGroup, AttributeValue: "g-d"}); err != nil {
			t.Error(err)
		}
	}
	rm, err := New(Options{Store: cs, Barrier: m.seal})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := rm.RepairIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cs.applies != 2 {
		t.Errorf("repair applied %d commands, want 2 (one refused, one applied)", cs.applies)
	}
	// The other writer added the key of "g-d" (the key it removed, that
	// of "g-b" as read back, was never there); the second pass removes
	// every version 1 key.
	if want := (IndexRepair{Objects: 4, Removed: 4, Added: 2}); rep != want {
		t.Errorf("repair = %+v, want %+v", rep, want)
	}
	checkIndex(t, m, st)
}

// TestRepairIndexLeavesUnreadableRecords: a record that fails to open is
// counted and its entries are left as they are (Locate reports it as
// corrupted), while the other objects are repaired.
func TestRepairIndexLeavesUnreadableRecords(t *testing.T) {
	ctx := context.Background()
	m, st, ids := oldStore(t)
	entriesOf := func(id string) int {
		t.Helper()
		n := 0
		idAt := 1 + len(m.seal.IndexKey())
		err := st.View(func(r store.Reader) error {
			return r.Scan(bucketIndex, nil, nil, func(k, _ []byte) (bool, error) {
				if len(k) > idAt && string(k[idAt:]) == id {
					n++
				}
				return true, nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	bad := ids["modified"]
	var cmd store.Command
	cmd.Put(bucketObjects, []byte(bad), []byte("not a sealed record"))
	if err := st.Apply(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	before := entriesOf(bad)
	rep, err := m.RepairIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// "modified" had two stale entries and one missing: all left alone.
	if want := (IndexRepair{Objects: 4, Unreadable: 1, Removed: 2, Added: 2}); rep != want {
		t.Errorf("repair = %+v, want %+v", rep, want)
	}
	if after := entriesOf(bad); after != before {
		t.Errorf("the unreadable object has %d index entries after the repair, %d before", after, before)
	}
}
