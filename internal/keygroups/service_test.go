package keygroups

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	kmip "github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/keys"
)

// newTestService returns a Service over a Manager on a real bbolt file and
// a real barrier.
func newTestService(t *testing.T) (*Service, *keys.Manager) {
	t.Helper()
	sealed := barriertest.New(t)
	st, b := sealed.Store, sealed.Barrier
	m, err := keys.New(keys.Options{Store: st, Barrier: b})
	if err != nil {
		t.Fatal(err)
	}
	return New(m, nil), m
}

func TestCreateGetList(t *testing.T) {
	s, m := newTestService(t)
	ctx := context.Background()
	g, err := s.Create(ctx, "lto1", "des01-03")
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Aliases(); len(got) != 3 || got[0] != "des01" || got[2] != "des03" {
		t.Fatalf("aliases %v", got)
	}
	got, err := s.Get(ctx, "lto1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Keys) != 3 || got.Keys[1].Alias != "des02" || got.Keys[1].State != "Active" {
		t.Fatalf("get %+v", got)
	}
	// The keys are ordinary managed objects: Name = alias, the group
	// attribute, AES-256, active, in the default device group.
	o, err := m.Get(ctx, got.Keys[0].ObjectID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Group != keys.DefaultGroup || o.State != kmip.StateActive {
		t.Fatalf("object group %q state %v", o.Group, o.State)
	}
	if v, ok := o.Attr(AttrKeyGroup); !ok || textValue(v) != "lto1" {
		t.Fatalf("group attribute %v %v", v, ok)
	}
	if _, err := s.Create(ctx, "lto2", "spare1,spare2"); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "lto1" || len(list[0].Keys) != 3 || list[1].Name != "lto2" || len(list[1].Keys) != 2 {
		t.Fatalf("list %+v", list)
	}
}

func TestCreateRefused(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, "lto1", "des01-03"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, group, set string
		want             error
	}{
		{"duplicate group", "lto1", "other1", ErrExists},
		{"alias of another group", "lto2", "des02", ErrExists},
		{"alias in other case", "lto2", "DES03", ErrExists},
		{"bad group name", "bad name!", "x1", ErrInvalid},
		{"bad alias set", "lto3", "des05-01", ErrInvalid},
		{"empty alias set", "lto3", "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Create(ctx, tt.group, tt.set); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := s.Get(ctx, "lto2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused group exists: %v", err)
	}
}

func TestNextRoundRobin(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, "lto1", "des01-03"); err != nil {
		t.Fatal(err)
	}
	want := []string{"des01", "des02", "des03", "des01"}
	keysSeen := map[string][]byte{}
	for i, w := range want {
		alias, keyID, key, err := s.Next(ctx, "lto1")
		if err != nil {
			t.Fatal(err)
		}
		if alias != w || keyID != w {
			t.Fatalf("pick %d: alias %q id %q, want %q", i, alias, keyID, w)
		}
		if len(key) != 32 {
			t.Fatalf("key of %d bytes", len(key))
		}
		if prev, ok := keysSeen[w]; ok && !bytes.Equal(prev, key) {
			t.Fatalf("alias %s changed key", w)
		}
		keysSeen[w] = key
		byID, err := s.ByKeyID(ctx, keyID)
		if err != nil || !bytes.Equal(byID, key) {
			t.Fatalf("ByKeyID(%q): %v", keyID, err)
		}
	}
	if bytes.Equal(keysSeen["des01"], keysSeen["des02"]) {
		t.Fatal("two aliases share a key")
	}
	if _, _, _, err := s.Next(ctx, "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("next of unknown group: %v", err)
	}
	if _, err := s.ByAlias(ctx, "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown alias: %v", err)
	}
}

func TestDestroyedKey(t *testing.T) {
	s, m := newTestService(t)
	ctx := context.Background()
	g, err := s.Create(ctx, "lto1", "des01-02")
	if err != nil {
		t.Fatal(err)
	}
	id := g.Keys[0].ObjectID
	if err := m.Revoke(ctx, id, kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeCessationOfOperation}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ByAlias(ctx, "des01"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("deactivated key: %v", err)
	}
	if err := m.Destroy(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ByKeyID(ctx, "des01"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("destroyed key: %v", err)
	}
	// Round robin skips the key that cannot be served.
	for range 2 {
		alias, _, _, err := s.Next(ctx, "lto1")
		if err != nil || alias != "des02" {
			t.Fatalf("next: %q %v", alias, err)
		}
	}
	// The destroyed alias is not reusable.
	if _, err := s.Create(ctx, "lto2", "des01"); !errors.Is(err, ErrExists) {
		t.Fatalf("reuse destroyed alias: %v", err)
	}
}

func TestNextConcurrent(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, "lto1", "k01-04"); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	for range 4 {
		go func() {
			alias, _, _, err := s.Next(ctx, "lto1")
			if err != nil {
				alias = "error: " + err.Error()
			}
			got <- alias
		}()
	}
	seen := map[string]bool{}
	for range 4 {
		a := <-got
		if seen[a] || !strings.HasPrefix(a, "k0") {
			t.Fatalf("concurrent picks: %q after %v", a, seen)
		}
		seen[a] = true
	}
}
