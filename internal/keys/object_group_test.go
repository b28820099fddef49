package keys

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
)

// TestClientObjectGroups: the Object Group attribute is a client's own
// grouping and the Fresh attribute a client may set at creation (KMIP 1.1
// §3.33, §3.34; vectors TC_152); access stays with the access group the
// server records, whatever Object Group a client names.
func TestClientObjectGroups(t *testing.T) {
	m, _ := newTestManager(t)
	bg := context.Background()
	a := WithAccess(bg, Access{Group: "tapes_a"})
	b := WithAccess(bg, Access{Group: "tapes_b"})
	admin := WithAccess(bg, Access{AllGroups: true})
	group := kmip.Attribute{AttributeName: kmip.AttributeNameObjectGroup, AttributeValue: "ClientFreshTest"}
	fresh := func(v bool) kmip.Attribute {
		return kmip.Attribute{AttributeName: kmip.AttributeNameFresh, AttributeValue: v}
	}
	material := make([]byte, 32)
	register := func(t *testing.T, ctx context.Context, attrs ...kmip.Attribute) *Object {
		t.Helper()
		o, err := m.Register(ctx, kmip.ObjectTypeSymmetricKey,
			&kmip.SymmetricKey{KeyBlock: rawKeyBlock(material, kmip.CryptographicAlgorithmAES, 256)}, append(aesAttrs("k"), attrs...))
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		return o
	}
	a1 := register(t, a, group, fresh(true))
	a2 := register(t, a, group, fresh(true))
	b1 := register(t, b, group, fresh(true))
	aServed := register(t, a, group, fresh(false))

	t.Run("access group is the caller's, not the Object Group", func(t *testing.T) {
		for _, c := range []struct {
			o    *Object
			want string
		}{{a1, "tapes_a"}, {b1, "tapes_b"}} {
			if c.o.Group != c.want {
				t.Fatalf("access group = %q, want %q", c.o.Group, c.want)
			}
			if v, _ := c.o.Attr(kmip.AttributeNameObjectGroup); v != "ClientFreshTest" {
				t.Fatalf("Object Group = %v", v)
			}
		}
	})
	t.Run("client-set Fresh is kept", func(t *testing.T) {
		if v, _ := a1.Attr(kmip.AttributeNameFresh); v != true {
			t.Fatalf("Fresh = %v, want true", v)
		}
		if v, _ := aServed.Attr(kmip.AttributeNameFresh); v != false {
			t.Fatalf("Fresh = %v, want false", v)
		}
	})
	locate := []struct {
		name   string
		ctx    context.Context
		member kmip.ObjectGroupMember
		want   []string
	}{
		{"owner sees its members only", a, 0, []string{a1.ID, a2.ID, aServed.ID}},
		{"owner's fresh members", a, kmip.ObjectGroupMemberFresh, []string{a1.ID, a2.ID}},
		{"other group sees its own member", b, kmip.ObjectGroupMemberFresh, []string{b1.ID}},
		{"administrator sees every member", admin, 0, []string{a1.ID, a2.ID, b1.ID, aServed.ID}},
	}
	for _, tc := range locate {
		t.Run("locate: "+tc.name, func(t *testing.T) {
			got, _, err := m.Locate(tc.ctx, LocateQuery{Attributes: []kmip.Attribute{group}, GroupMember: tc.member})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
	t.Run("naming another group's Object Group gives no access", func(t *testing.T) {
		if _, err := m.Get(b, a1.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("group B reads A's object: %v", err)
		}
	})
	t.Run("Fresh stays the server's to change", func(t *testing.T) {
		if _, err := m.ModifyAttribute(a, a1.ID, fresh(false)); !errors.Is(err, ErrAttributeReadOnly) {
			t.Fatalf("modify Fresh: %v, want ErrAttributeReadOnly", err)
		}
	})
	t.Run("Fresh must be a Boolean", func(t *testing.T) {
		_, err := m.Register(a, kmip.ObjectTypeSymmetricKey, &kmip.SymmetricKey{KeyBlock: rawKeyBlock(material, kmip.CryptographicAlgorithmAES, 256)},
			append(aesAttrs("k"), kmip.Attribute{AttributeName: kmip.AttributeNameFresh, AttributeValue: int32(1)}))
		if !errors.Is(err, ErrInvalidField) {
			t.Fatalf("register with Fresh=1: %v, want ErrInvalidField", err)
		}
	})
}
