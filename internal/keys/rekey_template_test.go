package keys

import (
	"context"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
)

// TestReKeyNames: Re-key moves the names of the replaced key to the
// replacement and adds the names the request gives (vector TC-REKEY-1-10);
// other attributes the request gives replace the carried ones.
func TestReKeyNames(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	name := func(s string) kmip.Attribute {
		return kmip.Attribute{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: s, NameType: kmip.NameTypeUninterpretedTextString}}
	}
	names := func(o *Object) []string {
		var out []string
		for _, v := range o.AttrAll(kmip.AttributeNameName) {
			out = append(out, v.(kmip.Name).NameValue)
		}
		return out
	}
	o, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("original"))
	if err != nil {
		t.Fatal(err)
	}
	contact := func(s string) kmip.Attribute {
		return kmip.Attribute{AttributeName: kmip.AttributeNameContactInformation, AttributeValue: s}
	}
	steps := []struct {
		name        string
		attrs       []kmip.Attribute
		want        []string
		wantContact any
	}{
		{"no template: names move", nil, []string{"original"}, nil},
		{"a new name is added", []kmip.Attribute{name("first")}, []string{"original", "first"}, nil},
		{"two new names and a contact", []kmip.Attribute{name("second"), name("third"), contact("ops")}, []string{"original", "first", "second", "third"}, "ops"},
		{"a carried name is not doubled, the contact is replaced", []kmip.Attribute{name("first"), contact("sec")}, []string{"original", "first", "second", "third"}, "sec"},
	}
	prev := o
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			next, err := m.ReKey(ctx, prev.ID, nil, s.attrs)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(next); !slices.Equal(got, s.want) {
				t.Fatalf("replacement names = %v, want %v", got, s.want)
			}
			if got, _ := next.Attr(kmip.AttributeNameContactInformation); got != s.wantContact {
				t.Fatalf("contact = %v, want %v", got, s.wantContact)
			}
			if len(next.AttrAll(kmip.AttributeNameContactInformation)) > 1 {
				t.Fatal("contact information carried and given")
			}
			old, err := m.Get(ctx, prev.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(old); len(got) != 0 {
				t.Fatalf("replaced key keeps names %v", got)
			}
			prev = next
		})
	}
}
