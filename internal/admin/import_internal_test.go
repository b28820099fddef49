package admin

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"testing"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/migrate"
	"github.com/keywarden/keywarden/internal/usage"
)

// importServices returns a handler over real services on a fresh store.
func importServices(t *testing.T) *Handler {
	t.Helper()
	ctx := context.Background()
	sealed := barriertest.New(t)
	st, b := sealed.Store, sealed.Barrier
	m, err := keys.New(keys.Options{Store: st, Barrier: b})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := devices.New(ctx, devices.Options{Store: st, Barrier: b})
	if err != nil {
		t.Fatal(err)
	}
	ul, err := usage.New(ctx, st, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Handler{cfg: Config{Keys: m, Devices: reg, Labels: labels.New(m, nil, nil), KeyGroups: keygroups.New(m, nil),
		Usage: ul, Now: time.Now}, log: slog.New(slog.DiscardHandler)}
}

// failingKeyGroups is the real target whose key group step fails; it
// remembers the ids of the labels it imported.
type failingKeyGroups struct {
	*importTarget
	ids *[]string
}

func (f failingKeyGroups) ImportLabel(ctx context.Context, l migrate.Label) ([]string, error) {
	ids, err := f.importTarget.ImportLabel(ctx, l)
	*f.ids = append(*f.ids, ids...)
	return ids, err
}

var errKeyGroupStep = errors.New("key group step failed")

func (failingKeyGroups) CreateKeyGroup(context.Context, string, string) ([]string, error) {
	return nil, errKeyGroupStep
}

// TestImportUndoOnRealServices fails the key group step after the group,
// the drive and the label were written, and checks on the real services
// that the undo deleted the drive and the group and retired (revoked and
// destroyed) the label's objects.
func TestImportUndoOnRealServices(t *testing.T) {
	ctx := keys.WithAccess(context.Background(), keys.Access{Group: keys.DefaultGroup, AllGroups: true})
	h := importServices(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "MIG_UNDO"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b := &migrate.Bundle{Group: "ekm", Alias1: "MIG_UNDO", Alias2: "MIG_UNDO",
		Labels: []migrate.Label{{Name: "MIG_UNDO", CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))}},
		Drives:      []migrate.Drive{{Family: "3592", Serial: "UNDO000001"}},
		KeyGroups:   []migrate.KeyGroup{{Name: "LTO_UNDO", Aliases: "mig01-03"}},
		UsageEvents: []migrate.UsageEvent{{VolSer: "UNDO01", Time: time.Date(2011, 10, 18, 19, 35, 8, 0, time.UTC)}},
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	target := failingKeyGroups{&importTarget{h: h}, &ids}
	p, err := migrate.NewPlan(ctx, target, b, migrate.Fail)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Apply(ctx, target, migrate.ApplyOptions{})
	if !errors.Is(err, migrate.ErrUndone) || !errors.Is(err, errKeyGroupStep) {
		t.Fatalf("err = %v, want ErrUndone wrapping the key group failure", err)
	}
	st, err := target.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range st.Groups {
		if g.Name == "ekm" {
			t.Fatal("group ekm left behind")
		}
	}
	if len(st.Devices) != 0 || len(st.KeyGroups) != 0 || len(st.Usage) != 0 {
		t.Fatalf("left behind: %+v", st)
	}
	if len(st.Labels) != 0 {
		t.Fatalf("labels after undo %+v: want none (destroyed labels are not listed)", st.Labels)
	}
	if len(ids) != 3 {
		t.Fatalf("label objects %v", ids)
	}
	for _, id := range ids {
		o, err := h.cfg.Keys.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if s := o.EffectiveState(h.cfg.Keys.Now()); s != kmip.StateDestroyed {
			t.Fatalf("object %s is %v after undo", id, s)
		}
	}
	// The name is free again: a second run, without the failure, imports
	// the label anew.
	real := &importTarget{h: h}
	p, err = migrate.NewPlan(ctx, real, b, migrate.Fail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(ctx, real, migrate.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.cfg.Labels.Get(ctx, "MIG_UNDO"); err != nil {
		t.Fatalf("label after the second run: %v", err)
	}
}
