package e2e

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go/kmipclient"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// adminClient returns an admin API client of env with the role's
// certificate (the administrator's from init for pki.RoleAdmin).
func adminClient(t *testing.T, env *testenv.Env) *client.Client {
	t.Helper()
	p := pki.PathsFor(env.DataDir)
	c, err := client.New(client.Config{Addr: "https://" + env.AdminAddr, CACert: p.CACert,
		ClientCert: p.AdminCert, ClientKey: p.AdminKey, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// volumeLabels returns the labels (encoding L) of a tape image's EEDKs.
func volumeLabels(t *testing.T, c interface {
	WriteKey(context.Context, codec.WriteKeyRequest) ([]byte, codec.EEDK, codec.EEDK, error)
}, serial, volser string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, e1, e2, err := c.WriteKey(ctx, codec.WriteKeyRequest{DriveSerial: serial, WWN: serial, Volser: volser})
	if err != nil {
		t.Fatalf("write key for %s: %v", volser, err)
	}
	return string(e1.KeyRef), string(e2.KeyRef)
}

// TestCertificateRollover schedules a rollover of a 3592 group's default
// labels a few seconds ahead over the admin API: writes before it use the
// old labels, writes after it the new ones (one a partner's certificate),
// and volumes written under the old labels stay readable.
func TestCertificateRollover(t *testing.T) {
	f := newTapeFixture(t)
	ctx := context.Background()
	admin := adminClient(t, f.env)
	if _, err := f.env.Server.Labels().Create(ctx, "NEW_1", labels.CreateOptions{Bits: 2048}); err != nil {
		t.Fatal(err)
	}
	partnerCert, _ := selfSignedPair(t, "partner")
	if _, err := f.env.Server.Labels().ImportCert(ctx, partnerLabel, partnerCert); err != nil {
		t.Fatal(err)
	}
	drive := newDeviceClient(t, f.conf, f.env.DeviceAddr)
	oldData := randomData(t, 3000)
	oldImg := writeVolume(t, drive, f.serial, "OLD001", oldData)

	// A second in the future, rounded up: the server keeps seconds.
	at := time.Now().UTC().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	g, err := admin.ScheduleRollover(ctx, "TAPES_3592", client.Rollover{At: at, Alias1: "NEW_1", Alias2: partnerLabel})
	if err != nil {
		t.Fatal(err)
	}
	if g.Alias1 != tapeLabel1 || len(g.Rollovers) != 1 || !g.Rollovers[0].At.Equal(at) {
		t.Fatalf("after scheduling: %+v", g)
	}
	if l1, l2 := volumeLabels(t, drive, f.serial, "BEFORE"); l1 != tapeLabel1 || l2 != tapeLabel2 {
		t.Fatalf("a write before the rollover used %s, %s", l1, l2)
	}

	time.Sleep(time.Until(at) + 100*time.Millisecond)
	if l1, l2 := volumeLabels(t, drive, f.serial, "AFTER"); l1 != "NEW_1" || l2 != partnerLabel {
		t.Fatalf("a write after the rollover used %s, %s", l1, l2)
	}
	newData := randomData(t, 3000)
	newImg := writeVolume(t, drive, f.serial, "NEW001", newData)
	shown, err := admin.Group(ctx, "TAPES_3592")
	if err != nil {
		t.Fatal(err)
	}
	if shown.Alias1 != "NEW_1" || shown.Alias2 != partnerLabel || len(shown.Rollovers) != 0 {
		t.Fatalf("group after the rollover: %+v", shown)
	}

	for _, v := range []struct {
		name string
		img  []byte
		want []byte
	}{{"old labels", oldImg, oldData}, {"new labels", newImg, newData}} {
		t.Run("read "+v.name, func(t *testing.T) {
			got, err := readVolume(drive, f.serial, v.img)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, v.want) {
				t.Fatal("read back different bytes")
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		tests := []struct {
			name   string
			ro     client.Rollover
			status int
		}{
			{"unknown label", client.Rollover{At: at, Alias1: "NOSUCH"}, 404},
			{"two certificates alone", client.Rollover{At: at, Alias1: partnerLabel, Alias2: partnerLabel}, 400},
			{"unknown key group", client.Rollover{At: at, KeyGroup: "nosuch"}, 404},
			{"no time", client.Rollover{Alias1: "NEW_1"}, 400},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := admin.ScheduleRollover(ctx, "TAPES_3592", tc.ro)
				if got := client.StatusOf(err); got != tc.status {
					t.Fatalf("status %d (%v), want %d", got, err, tc.status)
				}
			})
		}
	})
}

// TestServerWideDefaultRollover checks the server-wide defaults (the group
// "default"): a drive whose group names no labels gets them, from the
// moment a rollover of "default" takes effect.
func TestServerWideDefaultRollover(t *testing.T) {
	f := newTapeFixture(t)
	ctx := context.Background()
	reg := f.env.Server.Devices()
	if _, err := reg.CreateGroup(ctx, devices.Group{Name: "BARE", Family: devices.Family3592}); err != nil {
		t.Fatal(err)
	}
	conf := f.env.IssueClient(t, "drive02", pki.RoleClient)
	if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.Family3592, Serial: "BARE01", Group: "BARE",
		State: devices.StateActive, Fingerprints: []string{certFingerprint(t, conf)}}); err != nil {
		t.Fatal(err)
	}
	drive := newDeviceClient(t, conf, f.env.DeviceAddr)
	_, _, _, err := drive.WriteKey(ctx, codec.WriteKeyRequest{DriveSerial: "BARE01", WWN: "BARE01", Volser: "NOLBL"})
	wantStatus(t, err, codec.StatusNotFound)

	admin := adminClient(t, f.env)
	g, err := admin.ScheduleRollover(ctx, devices.DefaultGroup, client.Rollover{
		At: time.Now().Add(-time.Hour), Alias1: tapeLabel2, Alias2: tapeLabel1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if g.Alias1 != tapeLabel2 || len(g.Rollovers) != 0 {
		t.Fatalf("an immediate rollover of default: %+v", g)
	}
	if l1, l2 := volumeLabels(t, drive, "BARE01", "SRVDEF"); l1 != tapeLabel2 || l2 != tapeLabel1 {
		t.Fatalf("the server-wide defaults gave %s, %s", l1, l2)
	}
	// The drive's own group still comes first.
	if l1, l2 := volumeLabels(t, newDeviceClient(t, f.conf, f.env.DeviceAddr), f.serial, "GRPDEF"); l1 != tapeLabel1 || l2 != tapeLabel2 {
		t.Fatalf("the group's defaults gave %s, %s", l1, l2)
	}
}

// TestKeyGroupRollover rolls an LTO group over to a new key group: writes
// get keys of the new group, and a tape written under the old one reads.
func TestKeyGroupRollover(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	kg := env.Server.KeyGroups()
	for name, set := range map[string]string{"kg_old": "old01-02", "kg_new": "new01-02"} {
		if _, err := kg.Create(ctx, name, set); err != nil {
			t.Fatal(err)
		}
	}
	reg := env.Server.Devices()
	if _, err := reg.CreateGroup(ctx, devices.Group{Name: "LTO_LIB", Family: devices.FamilyLTO, KeyGroup: "kg_old"}); err != nil {
		t.Fatal(err)
	}
	conf := env.IssueClient(t, "lto01", pki.RoleClient)
	if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.FamilyLTO, Serial: "LTO01", Group: "LTO_LIB",
		State: devices.StateActive, Fingerprints: []string{certFingerprint(t, conf)}}); err != nil {
		t.Fatal(err)
	}
	drive := newDeviceClient(t, conf, env.DeviceAddr)
	oldID, oldKey, err := drive.LTOWrite(ctx, "LTO01", "LVOL1", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(oldID, "old") {
		t.Fatalf("first write got key %s", oldID)
	}
	if _, err := adminClient(t, env).ScheduleRollover(ctx, "LTO_LIB", client.Rollover{At: time.Now(), KeyGroup: "kg_new"}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"LVOL2", "LVOL3", "LVOL4"} {
		id, _, err := drive.LTOWrite(ctx, "LTO01", v, "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id, "new") {
			t.Fatalf("write %s after the rollover got key %s", v, id)
		}
	}
	key, err := drive.LTORead(ctx, "LTO01", "LVOL1", oldID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, oldKey) {
		t.Fatal("the old tape's key changed")
	}
}

// TestLabelKeyExport exports a label's private key over the admin API as
// the administrator, is refused as an operator, and checks that KMIP Get
// does not give it out (the device protocol has no message that could).
func TestLabelKeyExport(t *testing.T) {
	trail := &audit.Memory{}
	f := &tapeFixture{env: testenv.Start(t, testenv.WithAudit(trail))}
	ctx := context.Background()
	lb, err := f.env.Server.Labels().Create(ctx, tapeLabel1, labels.CreateOptions{Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	admin := adminClient(t, f.env)

	p12, err := admin.ExportLabelKey(ctx, tapeLabel1, client.LabelKeyExport{Format: client.KeyFormatPKCS12, Passphrase: "backup server 2"})
	if err != nil {
		t.Fatal(err)
	}
	key, cert, _, err := pkcs12.DecodeChain(p12, "backup server 2")
	if err != nil {
		t.Fatal(err)
	}
	if !cert.PublicKey.(*rsa.PublicKey).Equal(&key.(*rsa.PrivateKey).PublicKey) {
		t.Fatal("exported key and certificate do not match")
	}
	pemOut, err := admin.ExportLabelKey(ctx, tapeLabel1, client.LabelKeyExport{Format: client.KeyFormatPEM})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemOut)
	if block == nil {
		t.Fatal("PEM export holds no PEM block")
	}
	pemKey, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil || !key.(*rsa.PrivateKey).Equal(pemKey) {
		t.Fatalf("PEM export differs from the PKCS#12 export (%v)", err)
	}

	t.Run("audited", func(t *testing.T) {
		var n int
		for _, ev := range trail.Events() {
			if ev.Operation != "POST /v1/labels/{name}/export-key" {
				continue
			}
			n++
			if ev.Protocol != audit.ProtoAdmin || ev.Outcome != audit.Success || ev.Client.Role != "admin" ||
				len(ev.Labels) != 1 || ev.Labels[0] != tapeLabel1 {
				t.Errorf("export event %+v", ev)
			}
		}
		if n != 2 {
			t.Fatalf("%d export events recorded, want 2", n)
		}
	})

	t.Run("operator refused", func(t *testing.T) {
		mk, err := barrier.OpenMasterKey(f.env.DataDir, "")
		if err != nil {
			t.Fatal(err)
		}
		certPath, keyPath, err := pki.IssueClient(f.env.DataDir, mk, "op", pki.RoleOperator, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		op, err := client.New(client.Config{Addr: "https://" + f.env.AdminAddr,
			CACert: pki.PathsFor(f.env.DataDir).CACert, ClientCert: certPath, ClientKey: keyPath})
		if err != nil {
			t.Fatal(err)
		}
		defer op.Close()
		_, err = op.ExportLabelKey(ctx, tapeLabel1, client.LabelKeyExport{Passphrase: "backup server 2"})
		if client.StatusOf(err) != 403 {
			t.Fatalf("operator export: %v, want 403", err)
		}
	})

	t.Run("KMIP cannot extract", func(t *testing.T) {
		p := pki.PathsFor(f.env.DataDir)
		kc, err := kmipclient.DialContext(ctx, f.env.KMIPAddr,
			kmipclient.WithRootCAFile(p.CACert), kmipclient.WithClientCertFiles(p.AdminCert, p.AdminKey))
		if err != nil {
			t.Fatal(err)
		}
		defer kc.Close()
		if _, err := kc.Get(lb.PrivateKeyID).ExecContext(ctx); err == nil {
			t.Fatal("KMIP Get of a label's private key succeeded")
		}
		// internal/labels' TestKMIPSeesLabels tries attribute changes too.
	})
}
