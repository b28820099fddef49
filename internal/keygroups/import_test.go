package keygroups

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	kmip "github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

func TestImportKeyGroup(t *testing.T) {
	s, m := newTestService(t)
	ctx := context.Background()
	k16, k32 := bytes.Repeat([]byte{0x16}, 16), bytes.Repeat([]byte{0x32}, 32)
	registered, err := s.Import(ctx, "tape1", []ImportKey{
		{Alias: "t01", Material: k32, Active: true},
		{Alias: "t02"}, // no material on the source
		{Alias: "t03", Material: k16},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(registered, []string{"t01", "t03"}) {
		t.Fatalf("registered %q, want t01 and t03", registered)
	}
	g, err := s.Get(ctx, "tape1")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Keys) != 2 || g.Keys[0].State != "Active" || g.Keys[1].State != "PreActive" {
		t.Fatalf("group %+v: want t01 active and t03 pre-active", g)
	}
	for i, want := range [][]byte{k32, k16} {
		o, err := m.Get(scope(ctx), g.Keys[i].ObjectID)
		if err != nil {
			t.Fatal(err)
		}
		sk, ok := o.Value.(*kmip.SymmetricKey)
		if !ok {
			t.Fatalf("key %q is %T", g.Keys[i].Alias, o.Value)
		}
		got, err := sk.KeyBlock.GetBytes()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("key %q: material of %d bytes (%v), want the %d imported", g.Keys[i].Alias, len(got), err, len(want))
		}
		if l, _ := o.Attr(kmip.AttributeNameCryptographicLength); l != int32(len(want)*8) {
			t.Fatalf("key %q: Cryptographic Length %v, want %d", g.Keys[i].Alias, l, len(want)*8)
		}
		if o.Group != keys.DefaultGroup {
			t.Fatalf("key %q in device group %q", g.Keys[i].Alias, o.Group)
		}
	}
	tests := []struct {
		name    string
		group   string
		ks      []ImportKey
		want    error
		wantMsg string
	}{
		{"group name taken", "tape1", []ImportKey{{Alias: "u01", Material: k32}}, ErrExists,
			`keygroups: already exists: key group "tape1"`},
		{"alias taken, in another case", "tape2", []ImportKey{{Alias: "T03", Material: k32}}, ErrExists,
			`keygroups: already exists: alias "T03"`},
		{"alias without material taken", "tape2", []ImportKey{{Alias: "u01", Material: k32}, {Alias: "t02", Material: k32}}, ErrExists,
			`keygroups: already exists: alias "t02"`},
		{"no name", "", []ImportKey{{Alias: "u01", Material: k32}}, ErrInvalid, ""},
		{"no keys", "tape2", nil, ErrInvalid, ""},
		{"empty alias", "tape2", []ImportKey{{Alias: " ", Material: k32}}, ErrInvalid, ""},
		{"alias twice", "tape2", []ImportKey{{Alias: "u01", Material: k32}, {Alias: "U01", Material: k32}}, ErrInvalid, ""},
		{"not an AES key", "tape2", []ImportKey{{Alias: "u01", Material: k32[:20]}}, ErrInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			registered, err := s.Import(ctx, tt.group, tt.ks)
			if !errors.Is(err, tt.want) || tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Fatalf("Import: %v, want %v %s", err, tt.want, tt.wantMsg)
			}
			if registered != nil {
				t.Fatalf("registered %q after a refusal", registered)
			}
			if _, err := s.Get(ctx, "tape2"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a refused import left key group tape2: %v", err)
			}
		})
	}
	// The alias of the key without material belongs to tape1 for creations
	// too, as a created group's aliases do.
	if _, err := s.Create(ctx, "tape3", "T02"); !errors.Is(err, ErrExists) {
		t.Fatalf("create with the alias of a key left out: %v, want ErrExists", err)
	}
}

// TestImportNoMaterial checks that a group none of whose keys has material
// writes nothing: neither keys nor claims.
func TestImportNoMaterial(t *testing.T) {
	s, m := newTestService(t)
	ctx := context.Background()
	registered, err := s.Import(ctx, "empty", []ImportKey{{Alias: "e01"}, {Alias: "e02", Active: true}})
	if err != nil || registered != nil {
		t.Fatalf("Import: %q %v, want nothing registered and no error", registered, err)
	}
	c, err := m.ReadClaims(aliasClaimSpace, "e01", "e02")
	if err != nil {
		t.Fatal(err)
	}
	if c[0].Held() || c[1].Held() {
		t.Fatalf("claims %+v after an import that registered nothing", c)
	}
	if _, err := s.Create(ctx, "empty", "e01-02"); err != nil {
		t.Fatalf("create after an import that registered nothing: %v", err)
	}
}
