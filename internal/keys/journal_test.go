package keys

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/store"
)

// snapshot is every object of the store, opened (an undo seals restored
// records again, so their sealed bytes change), and every index entry.
type snapshot struct {
	objects map[string]*Object
	index   map[string]bool
}

func takeSnapshot(t *testing.T, m *Manager, st store.Store) snapshot {
	t.Helper()
	s := snapshot{objects: map[string]*Object{}, index: map[string]bool{}}
	var ids []string
	err := st.View(func(r store.Reader) error {
		if err := r.Scan(bucketObjects, nil, nil, func(k, _ []byte) (bool, error) {
			ids = append(ids, string(k))
			return true, nil
		}); err != nil {
			return err
		}
		return r.Scan(bucketIndex, nil, nil, func(k, _ []byte) (bool, error) {
			s.index[string(k)] = true
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		cur, err := m.load(id)
		if err != nil {
			t.Fatal(err)
		}
		s.objects[id] = cur.obj
	}
	return s
}

func TestUndoRestoresRecordsAndIndexes(t *testing.T) {
	ctx := context.Background()
	m, st := newTestManager(t)
	o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("kept"))
	if err != nil {
		t.Fatal(err)
	}
	// A custom attribute written as a Go string, as internal services do:
	// its index entry is not the one its stored (decoded) form gives.
	if _, err := m.AddAttribute(ctx, o.ID, kmip.Attribute{AttributeName: "x-service", AttributeValue: "v1"}); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, m, st)

	var j1, j2 Journal
	ctx1, ctx2 := WithJournal(ctx, &j1), WithJournal(ctx, &j2)
	created, err := m.Create(ctx1, kmip.ObjectTypeSymmetricKey, aesAttrs("new"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ModifyAttribute(ctx2, o.ID, kmip.Attribute{AttributeName: "x-service", AttributeValue: "v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ModifyAttribute(ctx2, o.ID, kmip.Attribute{AttributeName: kmip.AttributeNameName,
		AttributeValue: kmip.Name{NameValue: "renamed", NameType: kmip.NameTypeUninterpretedTextString}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Activate(ctx2, created.ID); err != nil {
		t.Fatal(err)
	}
	if got := j2.Objects(); !reflect.DeepEqual(got, []string{o.ID, created.ID}) {
		t.Fatalf("journal objects %v", got)
	}
	if err := m.Undo(ctx, &j1, &j2); err != nil {
		t.Fatal(err)
	}
	after := takeSnapshot(t, m, st)
	if !reflect.DeepEqual(before.index, after.index) {
		t.Fatalf("index entries: %d before, %d after the undo", len(before.index), len(after.index))
	}
	if !reflect.DeepEqual(before.objects, after.objects) {
		t.Fatalf("objects not restored:\nbefore %+v\nafter  %+v", before.objects, after.objects)
	}
	if _, err := m.Get(ctx, created.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("created object after undo: %v", err)
	}
}

func TestUndoNeverClobbersAnotherWriter(t *testing.T) {
	tests := []struct {
		name string
		// between runs after the first journaled write, after the second
		// when last is set.
		last bool
	}{
		{name: "change between two journaled writes"},
		{name: "change after the last journaled write", last: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m, _ := newTestManager(t)
			o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("shared"))
			if err != nil {
				t.Fatal(err)
			}
			var j Journal
			jctx := WithJournal(ctx, &j)
			other := func() {
				if _, err := m.AddAttribute(ctx, o.ID, kmip.Attribute{AttributeName: "x-other", AttributeValue: "theirs"}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := m.AddAttribute(jctx, o.ID, kmip.Attribute{AttributeName: "x-one", AttributeValue: "1"}); err != nil {
				t.Fatal(err)
			}
			if !tc.last {
				other()
			}
			if err := m.Activate(jctx, o.ID); err != nil {
				t.Fatal(err)
			}
			if tc.last {
				other()
			}
			if err := m.Undo(ctx, &j); !errors.Is(err, ErrUndoConflict) {
				t.Fatalf("undo = %v, want ErrUndoConflict", err)
			}
			got, err := m.Get(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []kmip.AttributeName{"x-one", "x-other"} {
				if _, ok := got.Attr(name); !ok {
					t.Fatalf("%s lost: a refused undo must change nothing", name)
				}
			}
			if got.State != kmip.StateActive {
				t.Fatalf("state %v: a refused undo must change nothing", got.State)
			}
		})
	}
}

func TestUndoWithoutWrites(t *testing.T) {
	m, _ := newTestManager(t)
	if err := m.Undo(context.Background(), &Journal{}, &Journal{}); err != nil {
		t.Fatalf("undo of nothing: %v", err)
	}
}

// TestEveryWriteIsJournaled keeps Manager.apply the one place that applies
// the core's commands: a write that went around it would escape the
// journal, and an Undo batch would leave it in place.
func TestEveryWriteIsJournaled(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "journal.go" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(src, []byte("st.Apply(")) {
			t.Errorf("%s applies a store command directly: use m.apply, so that Undo sees the write", f)
		}
	}
}
