package keys

import (
	"context"
	"errors"
	"testing"

	"github.com/ovh/kmip-go"
)

func TestLocateGroupMember(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	group := kmip.Attribute{AttributeName: kmip.AttributeNameObjectGroup, AttributeValue: "pool"}
	var ids []string
	for _, n := range []string{"k1", "k2", "k3"} {
		o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, append(aesAttrs(n), group))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	if _, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("outside")); err != nil {
		t.Fatal(err)
	}
	serve := func(t *testing.T, id string) {
		t.Helper()
		o, err := m.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.MarkServed(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name   string
		served []string // served before the Locate
		member kmip.ObjectGroupMember
		want   []string
	}{
		{"fresh: all members", nil, kmip.ObjectGroupMemberFresh, ids},
		{"default: oldest fresh", nil, kmip.ObjectGroupMemberDefault, ids[:1]},
		{"default: next fresh after serving", ids[:1], kmip.ObjectGroupMemberDefault, ids[1:2]},
		{"fresh: served left out", ids[1:2], kmip.ObjectGroupMemberFresh, ids[2:]},
		{"fresh: none left", ids[2:], kmip.ObjectGroupMemberFresh, nil},
		{"default: all served gives oldest", nil, kmip.ObjectGroupMemberDefault, ids[:1]},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			for _, id := range s.served {
				serve(t, id)
			}
			got, _, err := m.Locate(ctx, LocateQuery{Attributes: []kmip.Attribute{group}, GroupMember: s.member})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(s.want) {
				t.Fatalf("got %v, want %v", got, s.want)
			}
			for i := range got {
				if got[i] != s.want[i] {
					t.Fatalf("got %v, want %v", got, s.want)
				}
			}
		})
	}
	t.Run("fresh without a group", func(t *testing.T) {
		got, _, err := m.Locate(ctx, LocateQuery{GroupMember: kmip.ObjectGroupMemberFresh})
		if err != nil || len(got) != 1 || got[0] == ids[0] || got[0] == ids[1] || got[0] == ids[2] {
			t.Fatalf("got %v, %v; want only the unserved object outside the group", got, err)
		}
	})
	t.Run("unknown member", func(t *testing.T) {
		q := LocateQuery{Attributes: []kmip.Attribute{group}, GroupMember: 7}
		if _, _, err := m.Locate(ctx, q); !errors.Is(err, ErrInvalidField) {
			t.Fatalf("err = %v, want ErrInvalidField", err)
		}
	})
}
