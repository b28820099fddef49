package keys

import (
	"context"
	"errors"
	"testing"

	"github.com/ovh/kmip-go"
)

func TestOwnedObjects(t *testing.T) {
	m, _ := newTestManager(t)
	bg := context.Background()
	fred := WithAccess(bg, Access{Group: "default", Owner: "user:Fred"})
	barney := WithAccess(bg, Access{Group: "default", Owner: "user:Barney"})
	groupMember := WithAccess(bg, Access{Group: "default"})
	admin := WithAccess(bg, Access{AllGroups: true})

	o, err := m.Create(fred, kmip.ObjectTypeSymmetricKey, aesAttrs("fred-key"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Owner != "user:Fred" {
		t.Fatalf("owner = %q", o.Owner)
	}
	stored, err := m.Get(fred, o.ID)
	if err != nil || stored.Owner != "user:Fred" {
		t.Fatalf("owner's get: %v owner %q", err, stored.Owner)
	}
	shared, err := m.Create(groupMember, kmip.ObjectTypeSymmetricKey, aesAttrs("shared-key"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ctx     context.Context
		id      string
		wantErr error
	}{
		{"owner", fred, o.ID, nil},
		{"other user", barney, o.ID, ErrNotOwner},
		{"group member without credential", groupMember, o.ID, ErrNotOwner},
		{"administrator without credential", admin, o.ID, nil},
		{"user on an unowned object of the group", barney, shared.ID, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Get(tc.ctx, tc.id)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("get: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("get: %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && !errors.Is(err, ErrPermissionDenied) {
				t.Fatalf("not owner is not a permission denial: %v", err)
			}
		})
	}
	t.Run("destroy by another user", func(t *testing.T) {
		if err := m.Destroy(barney, o.ID); !errors.Is(err, ErrNotOwner) {
			t.Fatalf("destroy: %v", err)
		}
	})
	t.Run("locate hides other owners", func(t *testing.T) {
		q := LocateQuery{Attributes: []kmip.Attribute{{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "fred-key"}}}}
		if ids, _, err := m.Locate(barney, q); err != nil || len(ids) != 0 {
			t.Fatalf("other user's locate = %v, %v", ids, err)
		}
		if ids, _, err := m.Locate(fred, q); err != nil || len(ids) != 1 || ids[0] != o.ID {
			t.Fatalf("owner's locate = %v, %v", ids, err)
		}
	})
	t.Run("rekey keeps the owner", func(t *testing.T) {
		if err := m.Activate(fred, o.ID); err != nil {
			t.Fatal(err)
		}
		next, err := m.ReKey(fred, o.ID, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if next.Owner != "user:Fred" {
			t.Fatalf("replacement owner = %q", next.Owner)
		}
		if _, err := m.Get(barney, next.ID); !errors.Is(err, ErrNotOwner) {
			t.Fatalf("other user on the replacement: %v", err)
		}
	})
}
