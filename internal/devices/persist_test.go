package devices

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Everything survives a restart; the revoked set is reloaded; nothing the
// registry stores is readable in the database file.
func TestPersistence(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)
	r := env.open(t, Options{})
	mustGroup(t, r, Group{Name: "vaultgrp", Family: Family3592, Alias1: "labelalpha"})
	cert, revoked, pending, rejected := selfSigned(t, "d"), selfSigned(t, "r"), selfSigned(t, "p"), selfSigned(t, "x")
	d := mustDevice(t, r, Device{Family: Family3592, Serial: "SECRETSERIAL42", Group: "vaultgrp",
		Description: "vault drive", Fingerprints: []string{Fingerprint(cert)}})
	if err := r.Revoke(ctx, RevokedCert{Fingerprint: Fingerprint(revoked), Reason: "lost"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(ctx, pending, ""); err == nil {
		t.Fatal("unknown certificate served")
	}
	if _, err := r.Resolve(ctx, rejected, ""); err == nil {
		t.Fatal("unknown certificate served")
	}
	if err := r.RejectCert(ctx, Fingerprint(rejected)); err != nil {
		t.Fatal(err)
	}
	env.close(t)

	raw, err := os.ReadFile(filepath.Join(env.dir, "keywarden.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"SECRETSERIAL42", "vaultgrp", "labelalpha", "vault drive", Fingerprint(cert), Fingerprint(revoked), "lost"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("database file contains %q in the clear", secret)
		}
	}

	r2 := env.open(t, Options{})
	if !r2.IsRevoked(Fingerprint(revoked)) {
		t.Fatal("revoked set not reloaded")
	}
	_, err = r2.Resolve(ctx, revoked, "")
	wantErr(t, err, ErrRevoked)
	got, err := r2.DeviceBySerial(Family3592, "SECRETSERIAL42")
	if err != nil || got.ID != d.ID || got.Group != "vaultgrp" {
		t.Fatalf("device after reopen: %+v, %v", got, err)
	}
	if g, err := r2.Group("vaultgrp"); err != nil || g.Alias1 != "labelalpha" {
		t.Fatalf("group after reopen: %+v, %v", g, err)
	}
	if p, err := r2.Resolve(ctx, cert, ""); err != nil || p.DeviceID != d.ID {
		t.Fatalf("resolve after reopen: %+v, %v", p, err)
	}
	if pc, err := r2.PendingCerts(); err != nil || len(pc) != 1 || pc[0].Fingerprint != Fingerprint(pending) {
		t.Fatalf("pending after reopen: %+v, %v", pc, err)
	}
	_, err = r2.Resolve(ctx, rejected, "")
	wantErr(t, err, ErrRejected)
	if groups, _ := r2.Groups(); len(groups) != 2 {
		t.Fatalf("groups after reopen: %+v", groups)
	}
}
