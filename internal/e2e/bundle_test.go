package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// serverCertPEM is a server's certificate, the recipient of bundles for it.
func serverCertPEM(t *testing.T, env *testenv.Env) string {
	t.Helper()
	b, err := os.ReadFile(pki.PathsFor(env.DataDir).ServerCert)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// actions maps "kind/name" to the action of an import.
func actions(res *client.BundleResult) map[string]string {
	out := map[string]string{}
	for _, o := range res.Items {
		a := o.Action
		if o.As != "" {
			a += ":" + o.As
		}
		out[o.Kind+"/"+o.Name] = a
	}
	return out
}

// TestLabelBundleBackupServer builds the seed's backup key server in one
// command: server A exports its tape labels and an LTO key group to server
// B's certificate; B — its own CA, its own master key — imports them, and a
// tape written through A reads back through B.
func TestLabelBundleBackupServer(t *testing.T) {
	ctx := context.Background()
	f := newTapeFixture(t)
	a := f.env
	if _, err := a.Server.KeyGroups().Create(ctx, "LTOKEYS", "bnd01-03"); err != nil {
		t.Fatal(err)
	}
	drive := newDeviceClient(t, f.conf, a.DeviceAddr)
	data := randomData(t, 90_000)
	img := writeVolume(t, drive, f.serial, "BND001", data)

	b := testenv.Start(t)
	ca, cb := adminClient(t, a), adminClient(t, b)
	bundleB, err := ca.ExportBundle(ctx, client.BundleExport{
		Labels: []string{tapeLabel1, tapeLabel2}, KeyGroups: []string{"LTOKEYS"}, RecipientPEM: serverCertPEM(t, b),
	})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	res, err := cb.ImportBundle(ctx, client.BundleImport{Bundle: bundleB})
	if err != nil {
		t.Fatalf("import on B: %v", err)
	}
	want := map[string]string{"label/" + tapeLabel1: "imported", "label/" + tapeLabel2: "imported", "keygroup/LTOKEYS": "imported"}
	if got := actions(res); !equalMaps(got, want) {
		t.Fatalf("import on B: %v, want %v", got, want)
	}

	t.Run("a tape written through A reads back through B", func(t *testing.T) {
		reg := b.Server.Devices()
		if _, err := reg.CreateGroup(ctx, devices.Group{Name: "TAPES_3592", Family: devices.Family3592,
			Alias1: tapeLabel1, Alias2: tapeLabel2, Unknown: devices.PolicyReject}); err != nil {
			t.Fatal(err)
		}
		// B has its own CA: the drive presents a certificate from it.
		confB := b.IssueClient(t, "drive01", pki.RoleClient)
		if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.Family3592, Serial: f.serial,
			Group: "TAPES_3592", State: devices.StateActive, Fingerprints: []string{certFingerprint(t, confB)}}); err != nil {
			t.Fatal(err)
		}
		got, err := readVolume(newDeviceClient(t, confB, b.DeviceAddr), f.serial, img)
		if err != nil {
			t.Fatalf("read through B: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("B unwrapped another data key")
		}
	})
	t.Run("the key group's keys are the same on B", func(t *testing.T) {
		for _, alias := range []string{"bnd01", "bnd02", "bnd03"} {
			ka, err := a.Server.KeyGroups().ByAlias(ctx, alias)
			if err != nil {
				t.Fatal(err)
			}
			kb, err := b.Server.KeyGroups().ByAlias(ctx, alias)
			if err != nil {
				t.Fatalf("%s on B: %v", alias, err)
			}
			if !bytes.Equal(ka, kb) {
				t.Fatalf("%s differs between A and B", alias)
			}
		}
	})
	t.Run("importing again finds everything identical", func(t *testing.T) {
		res, err := cb.ImportBundle(ctx, client.BundleImport{Bundle: bundleB})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range actions(res) {
			if v != "identical" {
				t.Errorf("%s: %s, want identical", k, v)
			}
		}
	})
	t.Run("key group conflicts", func(t *testing.T) {
		for _, tc := range []struct {
			name, group, aliases, policy string
			wantStatus                   int
			wantText                     string
		}{
			{"same name, other keys", "LTOKEYS", "bnd01-03", "", http.StatusConflict, "other keys"},
			{"an alias used by another group", "OTHERS", "bnd02-02", "", http.StatusConflict, `alias "bnd02"`},
			{"rename does not apply", "LTOKEYS", "bnd01-03", "rename", http.StatusConflict, "cannot be renamed"},
			{"skip", "LTOKEYS", "bnd01-03", "skip", http.StatusOK, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := testenv.Start(t)
				if _, err := c.Server.KeyGroups().Create(ctx, tc.group, tc.aliases); err != nil {
					t.Fatal(err)
				}
				data, err := ca.ExportBundle(ctx, client.BundleExport{KeyGroups: []string{"LTOKEYS"}, RecipientPEM: serverCertPEM(t, c)})
				if err != nil {
					t.Fatal(err)
				}
				res, err := adminClient(t, c).ImportBundle(ctx, client.BundleImport{Bundle: data, OnConflict: tc.policy})
				if tc.wantStatus == http.StatusOK {
					if err != nil || actions(res)["keygroup/LTOKEYS"] != "skipped" {
						t.Fatalf("got %+v, %v; want LTOKEYS skipped", res, err)
					}
					return
				}
				if client.StatusOf(err) != tc.wantStatus || !strings.Contains(err.Error(), tc.wantText) {
					t.Fatalf("got %v, want %d saying %q", err, tc.wantStatus, tc.wantText)
				}
			})
		}
	})
	t.Run("another server cannot open it", func(t *testing.T) {
		c := testenv.Start(t)
		_, err := adminClient(t, c).ImportBundle(ctx, client.BundleImport{Bundle: bundleB})
		if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "another server") {
			t.Fatalf("import of B's bundle on C: %v", err)
		}
	})
}

// TestLabelBundleConflicts: a label of the same name with another key is a
// conflict that refuses the whole import, unless skipped or renamed; a
// passphrase bundle needs its passphrase.
func TestLabelBundleConflicts(t *testing.T) {
	ctx := context.Background()
	a := testenv.Start(t)
	for _, name := range []string{"SHARED", "ONLY_A"} {
		if _, err := a.Server.Labels().Create(ctx, name, labels.CreateOptions{Bits: 2048}); err != nil {
			t.Fatal(err)
		}
	}
	pass := "bundle passphrase for C"
	bundle, err := adminClient(t, a).ExportBundle(ctx, client.BundleExport{Labels: []string{"SHARED", "ONLY_A"}, Passphrase: pass})
	if err != nil {
		t.Fatal(err)
	}
	newC := func(t *testing.T) *client.Client {
		c := testenv.Start(t)
		if _, err := c.Server.Labels().Create(ctx, "SHARED", labels.CreateOptions{Bits: 2048}); err != nil {
			t.Fatal(err)
		}
		return adminClient(t, c)
	}
	t.Run("wrong passphrase", func(t *testing.T) {
		_, err := newC(t).ImportBundle(ctx, client.BundleImport{Bundle: bundle, Passphrase: "not the passphrase"})
		if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "wrong passphrase") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("refused: nothing imported", func(t *testing.T) {
		c := newC(t)
		_, err := c.ImportBundle(ctx, client.BundleImport{Bundle: bundle, Passphrase: pass})
		if client.StatusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), `"SHARED"`) {
			t.Fatalf("got %v, want a 409 naming SHARED", err)
		}
		if _, err := c.Label(ctx, "ONLY_A"); client.StatusOf(err) != http.StatusNotFound {
			t.Fatalf("ONLY_A after a refused import: %v, want not found", err)
		}
	})
	for _, tc := range []struct {
		policy string
		want   map[string]string
	}{
		{"skip", map[string]string{"label/SHARED": "skipped", "label/ONLY_A": "imported"}},
		{"rename", map[string]string{"label/SHARED": "renamed:SHARED_IMPORTED", "label/ONLY_A": "imported"}},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			c := newC(t)
			res, err := c.ImportBundle(ctx, client.BundleImport{Bundle: bundle, Passphrase: pass, OnConflict: tc.policy})
			if err != nil {
				t.Fatal(err)
			}
			if got := actions(res); !equalMaps(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if _, err := c.Label(ctx, "ONLY_A"); err != nil {
				t.Fatalf("ONLY_A: %v", err)
			}
		})
	}
	t.Run("only administrators export", func(t *testing.T) {
		op := a.IssueClient(t, "ops", pki.RoleOperator)
		ans := adminCall(t, a, op, "POST", "/v1/labels/export-bundle", `{"labels":["SHARED"],"passphrase":"long enough"}`)
		if ans.status != http.StatusForbidden {
			t.Fatalf("operator export: %d %s", ans.status, ans.body)
		}
	})
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
