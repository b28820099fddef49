package devices

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/keywarden/keywarden/internal/pki"
)

// roleExt builds a keywarden role extension as documented at
// pki.OIDRoleExtension, for certificates the server CA did not issue.
func roleExt(role, group string) pkix.Extension {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(role)) })
		if group != "" {
			b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(group)) })
		}
	})
	return pkix.Extension{Id: pki.OIDRoleExtension, Value: b.BytesOrPanic()}
}

func TestResolveRoles(t *testing.T) {
	ctx := context.Background()
	ca := newCA(t)
	r, _ := newRegistry(t, Options{RoleRoots: ca.pool, DefaultPolicy: PolicyReject})
	tests := []struct {
		role     pki.Role
		kind     PrincipalKind
		readOnly bool
	}{
		{pki.RoleAdmin, KindAdmin, false},
		{pki.RoleOperator, KindOperator, true},
		{pki.RoleAuditor, KindAuditor, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			cert := ca.issue(t, "who-"+string(tt.role), tt.role)
			p, err := r.Resolve(ctx, cert, "192.0.2.7:4000")
			if err != nil {
				t.Fatal(err)
			}
			want := Principal{Kind: tt.kind, Name: "who-" + string(tt.role), Fingerprint: Fingerprint(cert),
				Group: DefaultGroup, AllGroups: true, ReadOnly: tt.readOnly}
			if !principalEqual(p, want) {
				t.Fatalf("principal = %+v, want %+v", p, want)
			}
		})
	}
	t.Run("client role goes to the device table", func(t *testing.T) {
		cert := ca.issue(t, "lib-1", pki.RoleClient)
		_, err := r.Resolve(ctx, cert, "")
		wantErr(t, err, ErrRejected) // unknown, and the policy is reject
		d := mustDevice(t, r, Device{Family: FamilyGeneric, Serial: "LIB1", Fingerprints: []string{Fingerprint(cert)}})
		p, err := r.Resolve(ctx, cert, "")
		if err != nil || p.Kind != KindDevice || p.DeviceID != d.ID || p.AllGroups || p.ReadOnly {
			t.Fatalf("principal = %+v, %v", p, err)
		}
	})
	t.Run("role certificate not from the CA", func(t *testing.T) {
		_, err := r.Resolve(ctx, selfSigned(t, "mallory", roleExt("admin", "")), "")
		wantErr(t, err, ErrRejected)
		if !strings.Contains(err.Error(), "not issued by the server CA") {
			t.Fatalf("message %q", err)
		}
	})
	t.Run("no certificate", func(t *testing.T) {
		_, err := r.Resolve(ctx, nil, "")
		wantErr(t, err, ErrRejected)
	})
}

func principalEqual(a, b Principal) bool {
	return a.Kind == b.Kind && a.Name == b.Name && a.Fingerprint == b.Fingerprint && a.Group == b.Group &&
		a.AllGroups == b.AllGroups && a.ReadOnly == b.ReadOnly && slices.Equal(a.AllowedOps, b.AllowedOps) && a.DeviceID == b.DeviceID
}

// Without RoleRoots the caller vouches for the chain; the group named in
// the certificate becomes the principal's group when it exists.
func TestResolveRoleGroup(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "ops", Family: FamilyGeneric})
	tests := []struct {
		name  string
		group string
		want  string
	}{
		{"existing group", "ops", "ops"},
		{"missing group", "nosuch", DefaultGroup},
		{"no group", "", DefaultGroup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := r.Resolve(ctx, selfSigned(t, "op", roleExt("operator", tt.group)), "")
			if err != nil || p.Group != tt.want || p.Kind != KindOperator {
				t.Fatalf("principal = %+v, %v; want group %q", p, err, tt.want)
			}
		})
	}
	_, err := r.Resolve(ctx, selfSigned(t, "bad", roleExt("root", "")), "")
	wantErr(t, err, ErrRejected)
}

func TestRevoke(t *testing.T) {
	ctx := context.Background()
	ca := newCA(t)
	r, _ := newRegistry(t, Options{RoleRoots: ca.pool})
	admin := ca.issue(t, "admin2", pki.RoleAdmin)
	drive := selfSigned(t, "drive")
	mustDevice(t, r, Device{Family: FamilyLTO, Serial: "D1", Fingerprints: []string{Fingerprint(drive)}})
	for _, cert := range []struct {
		name string
		fp   string
		p    func() error
	}{
		{"admin", Fingerprint(admin), func() error { _, err := r.Resolve(ctx, admin, ""); return err }},
		{"device", Fingerprint(drive), func() error { _, err := r.Resolve(ctx, drive, ""); return err }},
	} {
		t.Run(cert.name, func(t *testing.T) {
			wantErr(t, cert.p(), nil)
			if r.IsRevoked(cert.fp) {
				t.Fatal("revoked before Revoke")
			}
			if err := r.Revoke(ctx, RevokedCert{Fingerprint: strings.ToUpper(cert.fp), Reason: "key compromise"}); err != nil {
				t.Fatal(err)
			}
			if !r.IsRevoked(cert.fp) {
				t.Fatal("IsRevoked = false after Revoke")
			}
			wantErr(t, cert.p(), ErrRevoked)
			wantErr(t, r.Revoke(ctx, RevokedCert{Fingerprint: cert.fp}), ErrExists)
		})
	}
	list, err := r.Revoked()
	if err != nil || len(list) != 2 || list[0].Reason != "key compromise" || list[0].Revoked.IsZero() {
		t.Fatalf("Revoked() = %+v, %v", list, err)
	}
	wantErr(t, r.Revoke(ctx, RevokedCert{Fingerprint: "nope"}), ErrInvalid)
}

func TestResolveDevice(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{DefaultPolicy: PolicyAccept})
	mustGroup(t, r, Group{Name: "lib", Family: FamilyGeneric, AllowedOps: []string{"Get", "Locate"}})
	certs := map[State]*x509.Certificate{}
	devs := map[State]Device{}
	for _, st := range []State{StateActive, StatePending, StateDisabled} {
		c := selfSigned(t, "drive-"+string(st))
		certs[st] = c
		devs[st] = mustDevice(t, r, Device{Family: FamilyLTO, Serial: "S-" + string(st), Group: "lib", State: st,
			Fingerprints: []string{Fingerprint(c)}})
	}
	p, err := r.Resolve(ctx, certs[StateActive], "192.0.2.1:1")
	if err != nil {
		t.Fatal(err)
	}
	want := Principal{Kind: KindDevice, Name: "drive-active", Fingerprint: Fingerprint(certs[StateActive]),
		Group: "lib", AllowedOps: []string{"Get", "Locate"}, DeviceID: devs[StateActive].ID}
	if !principalEqual(p, want) {
		t.Fatalf("principal = %+v, want %+v", p, want)
	}
	_, err = r.Resolve(ctx, certs[StatePending], "")
	wantErr(t, err, ErrPending)
	_, err = r.Resolve(ctx, certs[StateDisabled], "")
	wantErr(t, err, ErrDisabled)
	if !strings.Contains(err.Error(), devs[StateDisabled].ID) {
		t.Fatalf("message %q does not name the device", err)
	}
	// Approving the pending device serves it.
	if _, err := r.Approve(ctx, devs[StatePending].ID); err != nil {
		t.Fatal(err)
	}
	if p, err := r.Resolve(ctx, certs[StatePending], ""); err != nil || p.DeviceID != devs[StatePending].ID {
		t.Fatalf("after approve: %+v, %v", p, err)
	}
	// A device policy change takes effect on the next resolution.
	if _, err := r.ModifyGroup(ctx, "lib", func(g *Group) error { g.AllowedOps = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if p, err := r.Resolve(ctx, certs[StateActive], ""); err != nil || len(p.AllowedOps) != 0 {
		t.Fatalf("after group change: %+v, %v", p, err)
	}
}
