package keygroups

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	kmip "github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// errNotInBackup stands for the refusal of a server's backup gate.
var errNotInBackup = errors.New("not in a backup")

// refuseIDs is a Gate refusing the objects in ids and counting the
// objects it was asked about.
type refuseIDs struct {
	ids   []string
	asked []string
}

func (r *refuseIDs) gate(o *keys.Object) error {
	r.asked = append(r.asked, o.ID)
	if slices.Contains(r.ids, o.ID) {
		return errNotInBackup
	}
	return nil
}

// fresh reports the Fresh attribute of object id: true until it is served.
func fresh(t *testing.T, m *keys.Manager, id string) bool {
	t.Helper()
	o, err := m.Get(scope(context.Background()), id)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := o.Attr(kmip.AttributeNameFresh)
	return v == true
}

func TestKeyGroupNextGated(t *testing.T) {
	tests := []struct {
		name    string
		refuse  []int    // indexes of the refused keys among des01-03
		revoke  []int    // indexes of the revoked (deactivated) keys
		want    []string // aliases of successive picks
		wantErr error    // error of the pick after them, if any
	}{
		{name: "nothing refused: plain round robin", want: []string{"des01", "des02", "des03", "des01"}},
		{name: "refused keys are skipped", refuse: []int{0, 2}, want: []string{"des02", "des02", "des02"}},
		{name: "every key refused", refuse: []int{0, 1, 2}, wantErr: ErrRefused},
		{name: "refused or revoked: the refusal is reported", refuse: []int{1}, revoke: []int{0, 2}, wantErr: ErrRefused},
		{name: "all revoked: unavailable, gate never asked", revoke: []int{0, 1, 2}, wantErr: ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, m := newTestService(t)
			ctx := context.Background()
			g, err := s.Create(ctx, "lto1", "des01-03")
			if err != nil {
				t.Fatal(err)
			}
			r := &refuseIDs{}
			for _, i := range tc.refuse {
				r.ids = append(r.ids, g.Keys[i].ObjectID)
			}
			for _, i := range tc.revoke {
				id := g.Keys[i].ObjectID
				if err := m.Revoke(scope(ctx), id, kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeCessationOfOperation}, time.Time{}); err != nil {
					t.Fatal(err)
				}
			}
			for i, w := range tc.want {
				alias, keyID, key, err := s.NextGated(ctx, "lto1", r.gate)
				if err != nil {
					t.Fatalf("pick %d: %v", i, err)
				}
				if alias != w || keyID != w || len(key) != keySize {
					t.Fatalf("pick %d: %q %q (%d bytes), want %q", i, alias, keyID, len(key), w)
				}
			}
			if tc.wantErr != nil {
				_, _, key, err := s.NextGated(ctx, "lto1", r.gate)
				if !errors.Is(err, tc.wantErr) || key != nil {
					t.Fatalf("pick: %v (%d bytes), want %v", err, len(key), tc.wantErr)
				}
				if errors.Is(tc.wantErr, ErrRefused) && !errors.Is(err, errNotInBackup) {
					t.Fatalf("pick: %v, want the gate's reason", err)
				}
			}
			for _, id := range r.ids {
				if !fresh(t, m, id) {
					t.Fatalf("refused key %s was marked served", id)
				}
			}
			for _, i := range tc.revoke {
				if slices.Contains(r.asked, g.Keys[i].ObjectID) {
					t.Fatalf("gate asked about revoked key %s", g.Keys[i].Alias)
				}
			}
		})
	}
}

func TestKeyGroupByAliasGated(t *testing.T) {
	s, m := newTestService(t)
	ctx := context.Background()
	g, err := s.Create(ctx, "lto1", "des01-02")
	if err != nil {
		t.Fatal(err)
	}
	r := &refuseIDs{ids: []string{g.Keys[1].ObjectID}}

	t.Run("accepted key is served", func(t *testing.T) {
		got, err := s.ByAliasGated(ctx, "des01", r.gate)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.ByAlias(ctx, "des01")
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("gated key differs from ByAlias: %v", err)
		}
	})
	t.Run("refused key is not served", func(t *testing.T) {
		key, err := s.ByAliasGated(ctx, "DES02", r.gate)
		if !errors.Is(err, ErrRefused) || !errors.Is(err, errNotInBackup) || key != nil {
			t.Fatalf("refused alias: %v (%d bytes)", err, len(key))
		}
		if !fresh(t, m, g.Keys[1].ObjectID) {
			t.Fatal("refused key was marked served")
		}
	})
	t.Run("unknown alias is not found", func(t *testing.T) {
		if _, err := s.ByAliasGated(ctx, "nosuch", r.gate); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown alias: %v", err)
		}
	})
	t.Run("reads by key identifier are not gated", func(t *testing.T) {
		if _, err := s.ByKeyID(ctx, "des02"); err != nil {
			t.Fatalf("read of a refused key: %v", err)
		}
	})
}
