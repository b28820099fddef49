package e2e

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestRequireBackup: a server that serves only keys in a backup refuses a
// KMIP Get of a key until a backup taken after its creation, and again for
// a key created after that backup.
func TestRequireBackup(t *testing.T) {
	dir := t.TempDir()
	srv, err := server.New(server.Config{
		DataDir: dir, KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler), RequireBackup: true, NoAuditTrail: true, Node: "rb",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	p := pki.PathsFor(dir)
	conf, err := pki.ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	kmipAddr, _, _ := srv.Addrs()
	c := dialKMIP(t, kmipAddr, conf)
	refused := func(t *testing.T, id, why string) {
		t.Helper()
		it, err := c.call(&payloads.GetRequestPayload{UniqueIdentifier: id})
		if err != nil {
			t.Fatal(err)
		}
		if it.ResultStatus == kmip.ResultStatusSuccess || it.ResultReason != kmip.ResultReasonPermissionDenied ||
			!strings.Contains(it.ResultMessage, why) {
			t.Fatalf("Get %s: %v %v %q, want Permission Denied saying %q", id, it.ResultStatus, it.ResultReason, it.ResultMessage, why)
		}
	}

	k1 := c.must(aesKey("rb-1")).(*payloads.CreateResponsePayload).UniqueIdentifier
	refused(t, k1, "no backup has been taken")

	// Creation times are kept to the second: let the clock pass k1's.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	if err := srv.Backup(context.Background(), io.Discard, []byte("backup passphrase")); err != nil {
		t.Fatal(err)
	}
	if got := getSymmetric(t, c, k1); len(got) != 32 {
		t.Fatalf("k1 after the backup: %d bytes", len(got))
	}
	k2 := c.must(aesKey("rb-2")).(*payloads.CreateResponsePayload).UniqueIdentifier
	refused(t, k2, "after the last backup")
	if last := srv.LastBackup(); last.Snapshot.IsZero() || last.Node != "rb" {
		t.Fatalf("last backup %+v", last)
	}
}

// TestRequireBackupDevice: with RequireBackup, a 3592 write under labels
// created after the last backup is refused (no tape is written that a lost
// server would leave unreadable), and served once a backup holds them.
func TestRequireBackupDevice(t *testing.T) {
	env := testenv.Start(t, testenv.WithConfig(func(c *server.Config) { c.RequireBackup = true }))
	ctx := context.Background()
	for _, name := range []string{"RB_LABEL_1", "RB_LABEL_2"} {
		if _, err := env.Server.Labels().Create(ctx, name, labels.CreateOptions{Bits: 2048}); err != nil {
			t.Fatal(err)
		}
	}
	reg := env.Server.Devices()
	if _, err := reg.CreateGroup(ctx, devices.Group{Name: "RB_3592", Family: devices.Family3592,
		Alias1: "RB_LABEL_1", Alias2: "RB_LABEL_2", Unknown: devices.PolicyReject}); err != nil {
		t.Fatal(err)
	}
	conf := env.IssueClient(t, "rb-drive", pki.RoleClient)
	if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.Family3592, Serial: "000007888499", Group: "RB_3592",
		State: devices.StateActive, Fingerprints: []string{certFingerprint(t, conf)}}); err != nil {
		t.Fatal(err)
	}
	drive := newDeviceClient(t, conf, env.DeviceAddr)
	write := func(volser string) error {
		_, _, _, err := drive.WriteKey(deviceCtx(t), codec.WriteKeyRequest{DriveSerial: "000007888499", WWN: "w", Volser: volser})
		return err
	}
	err := write("RBK001")
	wantStatus(t, err, codec.StatusRefused)
	if !strings.Contains(err.Error(), "backup") {
		t.Fatalf("write before any backup: %v, want a refusal naming the backup", err)
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	if err := env.Server.Backup(ctx, io.Discard, []byte("backup passphrase")); err != nil {
		t.Fatal(err)
	}
	if err := write("RBK002"); err != nil {
		t.Fatalf("write after the backup: %v", err)
	}
}
