package keys

import (
	"context"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/store"
)

// attrGroup is a custom attribute written from Go code, like
// internal/keygroups' x-keywarden-keygroup.
const attrGroup kmip.AttributeName = "x-keywarden-keygroup"

// indexDiff returns the entries of the index bucket that no stored object
// has (stale) and those a stored object has, as read back from its record,
// that the bucket lacks (missing).
func indexDiff(t *testing.T, m *Manager, st store.Store) (stale, missing []string) {
	t.Helper()
	s := takeSnapshot(t, m, st)
	want := map[string]bool{}
	for _, o := range s.objects {
		for k := range m.indexKeys(o) {
			want[k] = true
		}
	}
	for k := range s.index {
		if !want[k] {
			stale = append(stale, k)
		}
	}
	for k := range want {
		if !s.index[k] {
			missing = append(missing, k)
		}
	}
	return stale, missing
}

// checkIndex fails unless the index bucket holds exactly the index keys of
// the stored objects: no stale entry, no missing one.
func checkIndex(t *testing.T, m *Manager, st store.Store) {
	t.Helper()
	stale, missing := indexDiff(t, m, st)
	idAt := 1 + len(m.seal.IndexKey())
	for _, k := range stale {
		t.Errorf("stale index entry of kind %d for object %q", k[0], k[min(idAt, len(k)):])
	}
	for _, k := range missing {
		t.Errorf("missing index entry of kind %d for object %q", k[0], k[idAt:])
	}
}

// TestGoValuesIndexLikeStoredOnes writes a custom attribute in the Go forms
// in-process callers use, reads it back through a Manager that never saw
// the write (nothing cached), modifies and deletes it: the index must hold
// exactly the entries of the records at every step, and Locate must find
// the object by its new value only.
func TestGoValuesIndexLikeStoredOnes(t *testing.T) {
	forms := []struct {
		name     string
		old, new any
	}{
		{"plain string", "g-old", "g-new"},
		{"ttlv value without tag", ttlv.Value{Value: "g-old"}, ttlv.Value{Value: "g-new"}},
		{"ttlv value as decoded", ttlv.Value{Tag: kmip.TagAttributeValue, Value: "g-old"}, ttlv.Value{Tag: kmip.TagAttributeValue, Value: "g-new"}},
		{"int32", int32(1), int32(2)},
		{"int", 1, 2},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			ctx := WithAccess(context.Background(), Access{Group: DefaultGroup, AllGroups: true})
			m, st := newTestManager(t)
			attr := func(v any) kmip.Attribute { return kmip.Attribute{AttributeName: attrGroup, AttributeValue: v} }
			o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, append(aesAttrs("k"), attr(f.old)))
			if err != nil {
				t.Fatal(err)
			}
			other, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("other"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.AddAttribute(ctx, other.ID, attr(f.old)); err != nil {
				t.Fatal(err)
			}
			checkIndex(t, m, st)

			// A Manager that reads the records back, with an empty cache.
			m2, err := New(Options{Store: st, Barrier: m.seal})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m2.ModifyAttribute(ctx, o.ID, attr(f.new)); err != nil {
				t.Fatal(err)
			}
			checkIndex(t, m2, st)
			locate := func(v any) []string {
				t.Helper()
				ids, _, err := m2.Locate(ctx, LocateQuery{Attributes: []kmip.Attribute{attr(v)}})
				if err != nil {
					t.Fatal(err)
				}
				return ids
			}
			if got := locate(f.old); !slices.Equal(got, []string{other.ID}) {
				t.Errorf("Locate by the old value = %q, want only %q", got, other.ID)
			}
			if got := locate(f.new); !slices.Equal(got, []string{o.ID}) {
				t.Errorf("Locate by the new value = %q, want %q", got, o.ID)
			}
			if _, err := m2.DeleteAttribute(ctx, o.ID, attrGroup, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := m2.DeleteAttribute(ctx, other.ID, attrGroup, nil); err != nil {
				t.Fatal(err)
			}
			checkIndex(t, m2, st)
			if got := locate(f.new); len(got) != 0 {
				t.Errorf("Locate by the deleted value = %q, want nothing", got)
			}
			if got := locate(f.old); len(got) != 0 {
				t.Errorf("Locate by the old value after delete = %q, want nothing", got)
			}
		})
	}
}
