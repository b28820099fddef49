package e2e

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestRequireBackupRekey: with RequireBackup, a 3592 rekey to labels newer
// than the last backup is refused like a write under them (the new EEDKs
// replace the tape's, so a lost server would leave the tape unreadable);
// the tape still reads, and the rekey is served once a backup holds them.
func TestRequireBackupRekey(t *testing.T) {
	env := testenv.Start(t, testenv.WithConfig(func(c *server.Config) { c.RequireBackup = true }))
	ctx := context.Background()
	newLabels := func(t *testing.T, names ...string) {
		t.Helper()
		for _, name := range names {
			if _, err := env.Server.Labels().Create(ctx, name, labels.CreateOptions{Bits: 2048}); err != nil {
				t.Fatal(err)
			}
		}
	}
	backup := func(t *testing.T) {
		t.Helper()
		nextSecond()
		if _, err := adminClient(t, env).Backup(ctx, []byte("backup passphrase"), io.Discard); err != nil {
			t.Fatalf("backup: %v", err)
		}
	}
	newLabels(t, "RK_OLD_1", "RK_OLD_2")
	reg := env.Server.Devices()
	if _, err := reg.CreateGroup(ctx, devices.Group{Name: "RK_3592", Family: devices.Family3592,
		Alias1: "RK_OLD_1", Alias2: "RK_OLD_2", Unknown: devices.PolicyReject}); err != nil {
		t.Fatal(err)
	}
	const serial = "000007888511"
	conf := env.IssueClient(t, "rk-drive", pki.RoleClient)
	if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.Family3592, Serial: serial, Group: "RK_3592",
		State: devices.StateActive, Fingerprints: []string{certFingerprint(t, conf)}}); err != nil {
		t.Fatal(err)
	}
	drive := newDeviceClient(t, conf, env.DeviceAddr)
	backup(t)
	dk, e1, e2, err := drive.WriteKey(deviceCtx(t), codec.WriteKeyRequest{DriveSerial: serial, WWN: "w", Volser: "RKV001"})
	if err != nil {
		t.Fatalf("write under labels in the backup: %v", err)
	}
	newLabels(t, "RK_NEW_1", "RK_NEW_2")
	rekey := func() error {
		_, _, err := drive.Rekey(deviceCtx(t), codec.RekeyRequest{DriveSerial: serial, Volser: "RKV001",
			Label1: "RK_NEW_1", Label2: "RK_NEW_2", EEDK1: e1, EEDK2: e2})
		return err
	}
	t.Run("rekey to labels newer than the backup is refused", func(t *testing.T) {
		err := rekey()
		wantStatus(t, err, codec.StatusRefused)
		if !strings.Contains(err.Error(), "key label not yet in a backup") {
			t.Fatalf("rekey: %v, want the refusal naming the backup", err)
		}
	})
	t.Run("the tape still reads", func(t *testing.T) {
		got, err := drive.ReadKey(deviceCtx(t), serial, "RKV001", e1, e2)
		if err != nil || !bytes.Equal(got, dk) {
			t.Fatalf("read: %v", err)
		}
	})
	backup(t)
	t.Run("rekey after the backup is served", func(t *testing.T) {
		if err := rekey(); err != nil {
			t.Fatal(err)
		}
	})
}
