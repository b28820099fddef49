package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/pki"
)

func newClient(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(client.ConfigFromEnv())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestConfig(t *testing.T) {
	env := client.ConfigFromEnv()
	p := pki.PathsFor(dataDir)
	if env.CACert != p.CACert || env.ClientCert != p.AdminCert || env.ClientKey != p.AdminKey || !strings.HasPrefix(env.Addr, "https://127.0.0.1:") {
		t.Fatalf("ConfigFromEnv = %+v", env)
	}
	missing := filepath.Join(t.TempDir(), "none.pem")
	tests := []struct {
		name string
		cfg  client.Config
		want string
	}{
		{"no address", client.Config{CACert: p.CACert, ClientCert: p.AdminCert, ClientKey: p.AdminKey}, client.EnvAddr},
		{"plain http", client.Config{Addr: "http://127.0.0.1:1", ClientCert: p.AdminCert, ClientKey: p.AdminKey}, "https://HOST:PORT"},
		{"no client certificate", client.Config{Addr: env.Addr, CACert: p.CACert}, client.EnvClientCert},
		{"missing key file", client.Config{Addr: env.Addr, ClientCert: p.AdminCert, ClientKey: missing}, "none.pem"},
		{"CA file without PEM", client.Config{Addr: env.Addr, CACert: p.AdminKey, ClientCert: p.AdminCert, ClientKey: p.AdminKey}, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error naming %q", err, tt.want)
			}
		})
	}
	t.Run("bare HOST:PORT means https", func(t *testing.T) {
		cfg := env
		cfg.Addr = strings.TrimPrefix(env.Addr, "https://")
		c, err := client.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Health(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestGroupsAndDevices(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	g, err := c.CreateGroup(ctx, client.GroupSpec{Name: "LIB_A", Family: "LTO", KeyGroup: "kg1", Unknown: "reject",
		AllowedOps: []string{"Get", "Locate"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "LIB_A" || g.Family != "LTO" || g.Unknown != "reject" || g.KeyGroup != "kg1" || g.Created.IsZero() {
		t.Fatalf("created %+v", g)
	}
	accept := "accept"
	if g, err = c.ModifyGroup(ctx, "LIB_A", client.GroupChanges{Unknown: &accept}); err != nil || g.Unknown != "accept" || g.KeyGroup != "kg1" {
		t.Fatalf("modified %+v, %v", g, err)
	}
	if got, err := c.Group(ctx, "LIB_A"); err != nil || got.Unknown != "accept" {
		t.Fatalf("Group = %+v, %v", got, err)
	}
	groups, err := c.Groups(ctx)
	if err != nil || !hasGroup(groups, "LIB_A") || !hasGroup(groups, "default") {
		t.Fatalf("Groups = %+v, %v", groups, err)
	}

	certPath, _, err := issue(t, "lto-drive-1")
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.AddDevice(ctx, client.DeviceSpec{Family: "lto", Serial: "LTO-001", WWN: "500507630F000001", Group: "LIB_A",
		Certificate: string(pem)})
	if err != nil {
		t.Fatal(err)
	}
	if d.ID == "" || d.Family != "LTO" || d.State != "active" || len(d.Fingerprints) != 1 || len(d.Fingerprints[0]) != 64 {
		t.Fatalf("added %+v", d)
	}
	desc, disabled := "row 3", "disabled"
	if d, err = c.ModifyDevice(ctx, d.ID, client.DeviceChanges{Description: &desc, State: &disabled}); err != nil ||
		d.Description != desc || d.State != "disabled" {
		t.Fatalf("modified %+v, %v", d, err)
	}
	if got, err := c.Device(ctx, d.ID); err != nil || got.Description != desc {
		t.Fatalf("Device = %+v, %v", got, err)
	}
	list, err := c.Devices(ctx, client.DeviceFilter{Group: "LIB_A"})
	if err != nil || len(list) != 1 || list[0].ID != d.ID {
		t.Fatalf("Devices(LIB_A) = %+v, %v", list, err)
	}
	if list, err := c.Devices(ctx, client.DeviceFilter{Group: "LIB_A", State: "active"}); err != nil || len(list) != 0 {
		t.Fatalf("Devices(LIB_A, active) = %+v, %v", list, err)
	}

	err = c.DeleteGroup(ctx, "LIB_A")
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 409 || e.Title == "" || !strings.Contains(e.Detail, "LIB_A") {
		t.Fatalf("DeleteGroup with a device: %v", err)
	}
	if err := c.DeleteDevice(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteGroup(ctx, "LIB_A"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Device(ctx, d.ID); client.StatusOf(err) != 404 {
		t.Fatalf("Device after delete: %v", err)
	}
}

func TestPendingApproval(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	if _, err := c.CreateGroup(ctx, client.GroupSpec{Name: "PEND", Family: "3592"}); err != nil {
		t.Fatal(err)
	}
	d, err := c.AddDevice(ctx, client.DeviceSpec{Family: "3592", Serial: "P-1", Group: "PEND", State: "pending"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Pending(ctx)
	if err != nil || !hasDevice(p.Devices, d.ID) {
		t.Fatalf("Pending = %+v, %v", p, err)
	}
	if d, err = c.ApproveDevice(ctx, d.ID); err != nil || d.State != "active" {
		t.Fatalf("approved %+v, %v", d, err)
	}
	if p, err = c.Pending(ctx); err != nil || hasDevice(p.Devices, d.ID) {
		t.Fatalf("Pending after approval = %+v, %v", p, err)
	}
	noFP := strings.Repeat("0", 64)
	if _, err := c.AcceptCert(ctx, noFP, "PEND"); client.StatusOf(err) != 404 {
		t.Fatalf("AcceptCert of an unknown certificate: %v", err)
	}
	if err := c.RejectCert(ctx, "not-hex"); client.StatusOf(err) != 400 {
		t.Fatalf("RejectCert of a malformed fingerprint: %v", err)
	}
}

func TestCertsAndStatus(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	ic, err := c.IssueCert(ctx, "client-test-op", "operator")
	if err != nil {
		t.Fatal(err)
	}
	if ic.Role != "operator" || !strings.Contains(ic.Certificate, "BEGIN CERTIFICATE") ||
		!strings.Contains(ic.PrivateKey, "PRIVATE KEY") || len(ic.Fingerprint) != 64 {
		t.Fatalf("issued %+v", ic)
	}
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "op.pem"), filepath.Join(dir, "op-key.pem")
	if err := os.WriteFile(certPath, []byte(ic.Certificate), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, []byte(ic.PrivateKey), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := client.ConfigFromEnv()
	cfg.ClientCert, cfg.ClientKey = certPath, keyPath
	op, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	if _, err := op.Status(ctx); err != nil {
		t.Fatalf("status as the issued operator: %v", err)
	}
	if _, err := op.IssueCert(ctx, "x", "admin"); client.StatusOf(err) != 403 {
		t.Fatalf("operator issuing: %v", err)
	}

	rc, err := c.RevokeCert(ctx, client.Revocation{Certificate: ic.Certificate, Reason: "test"})
	if err != nil || rc.Fingerprint != ic.Fingerprint || rc.Reason != "test" {
		t.Fatalf("revoked %+v, %v", rc, err)
	}
	list, err := c.RevokedCerts(ctx)
	if err != nil || len(list) == 0 {
		t.Fatalf("RevokedCerts = %+v, %v", list, err)
	}
	if _, err := op.Status(ctx); client.StatusOf(err) != 401 {
		t.Fatalf("status with a revoked certificate: %v", err)
	}

	st, err := c.Status(ctx)
	if err != nil || st.Counts.RevokedCerts < 1 || len(st.Certificates) != 2 || st.Listeners["admin"] == "" {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	keys, total, err := c.Keys(ctx, client.KeyFilter{Type: "SymmetricKey"})
	if err != nil || len(keys) != 0 || total != 0 {
		t.Fatalf("Keys = %v %d %v", keys, total, err)
	}
	if _, err := c.Key(ctx, "nosuch"); client.StatusOf(err) != 404 {
		t.Fatalf("Key(nosuch): %v", err)
	}
	if _, err := c.DestroyKey(ctx, "nosuch"); client.StatusOf(err) != 404 {
		t.Fatalf("DestroyKey(nosuch): %v", err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := c.Metrics(ctx)
	if err != nil || !strings.Contains(string(m), `keywarden_requests_total{operation="cert.issue",outcome="ok",protocol="admin"} 1`) {
		t.Fatalf("Metrics: %v\n%s", err, m)
	}
}

func hasGroup(gs []client.Group, name string) bool {
	for _, g := range gs {
		if g.Name == name {
			return true
		}
	}
	return false
}

func hasDevice(ds []client.Device, id string) bool {
	for _, d := range ds {
		if d.ID == id {
			return true
		}
	}
	return false
}

// issue issues a client certificate with role client from the test
// server's CA.
func issue(t *testing.T, name string) (string, string, error) {
	t.Helper()
	mk, err := openMasterKey()
	if err != nil {
		return "", "", err
	}
	return pki.IssueClient(dataDir, mk, name, pki.RoleClient, t.TempDir())
}
