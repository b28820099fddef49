package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client/device"
	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// ltoNotBackedUp is the fixed reason of an LTO write refused because no
// key it may use is in a backup (the device status table's message).
const ltoNotBackedUp = "LTO key not yet in a backup"

// addLTODrive creates LTO device group group over key group keyGroup and
// binds a new drive certificate to serial in it.
func addLTODrive(t *testing.T, env *testenv.Env, name, serial, group, keyGroup string) *tls.Config {
	t.Helper()
	ctx := context.Background()
	reg := env.Server.Devices()
	if _, err := reg.CreateGroup(ctx, devices.Group{Name: group, Family: devices.FamilyLTO, KeyGroup: keyGroup,
		Unknown: devices.PolicyReject}); err != nil {
		t.Fatal(err)
	}
	conf := env.IssueClient(t, name, pki.RoleClient)
	if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.FamilyLTO, Serial: serial, Group: group,
		State: devices.StateActive, Fingerprints: []string{certFingerprint(t, conf)}}); err != nil {
		t.Fatal(err)
	}
	return conf
}

// nextSecond waits until the clock has left the current second: creation
// times and the backup rule are kept to the second.
func nextSecond() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
}

// TestRequireBackupLTO: with RequireBackup, an LTO write over the device
// protocol is served only a key group key that is in the last backup.
// A key group created after it is refused (status refused, audited with
// the reason) until `keywarden backup` runs; reads are never refused, not
// even of a tape written before the server required backups.
func TestRequireBackupLTO(t *testing.T) {
	dir := t.TempDir()
	const earlySerial, lateSerial = "LTO00RB001", "LTO00RB002"

	// A tape written before the server required backups, with a key
	// that no backup holds.
	var (
		earlyConf     *tls.Config
		earlyID       string
		earlyMaterial []byte
	)
	if !t.Run("tape written without --require-backup", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithDataDir(dir))
		if _, err := env.Server.KeyGroups().Create(context.Background(), "rb_early", "rbe01-02"); err != nil {
			t.Fatal(err)
		}
		earlyConf = addLTODrive(t, env, "rb-lto-early", earlySerial, "RB_LTO_EARLY", "rb_early")
		id, k, err := newDeviceClient(t, earlyConf, env.DeviceAddr).LTOWrite(deviceCtx(t), earlySerial, "RBL001", "")
		if err != nil {
			t.Fatal(err)
		}
		earlyID, earlyMaterial = id, k
	}) {
		t.FailNow()
	}

	rec := &gatedRecorder{Memory: &audit.Memory{}}
	env := testenv.Start(t, testenv.WithDataDir(dir), testenv.WithAudit(rec),
		testenv.WithConfig(func(c *server.Config) { c.RequireBackup = true }))
	ctx := context.Background()
	early := newDeviceClient(t, earlyConf, env.DeviceAddr)

	// refusedWrite runs an LTO write that must be refused for want of a
	// backup, and checks its status and its audit event.
	refusedWrite := func(t *testing.T, c *device.Client, serial, volser, alias, why string) {
		t.Helper()
		var err error
		ev := oneEvent(t, rec, audit.ProtoDevice, func() {
			_, _, err = c.LTOWrite(deviceCtx(t), serial, volser, alias)
		})
		wantStatus(t, err, codec.StatusRefused)
		if !strings.Contains(err.Error(), ltoNotBackedUp) {
			t.Fatalf("write refused with %v, want the message %q", err, ltoNotBackedUp)
		}
		if ev.Operation != "lto-write" || ev.Outcome != audit.Denied || ev.Reason != ltoNotBackedUp || ev.Volser != volser {
			t.Fatalf("event %s %s %q volser %q, want lto-write denied %q volser %s (%s)",
				ev.Operation, ev.Outcome, ev.Reason, ev.Volser, ltoNotBackedUp, volser, why)
		}
		if len(ev.Objects) != 0 {
			t.Fatalf("refused write names keys %v", ev.Objects)
		}
	}
	// servedRead reads the tape whose key identifier is keyID and checks
	// it gets want and a successful audit event.
	servedRead := func(t *testing.T, c *device.Client, serial, volser, keyID string, want []byte) {
		t.Helper()
		var (
			k   []byte
			err error
		)
		ev := oneEvent(t, rec, audit.ProtoDevice, func() { k, err = c.LTORead(deviceCtx(t), serial, volser, keyID) })
		if err != nil {
			t.Fatalf("read of %s (key %s): %v", volser, keyID, err)
		}
		if want != nil && !bytes.Equal(k, want) {
			t.Fatalf("read of %s: another key than the one written", volser)
		}
		if ev.Operation != "lto-read" || ev.Outcome != audit.Success {
			t.Fatalf("read event %s %s (%s)", ev.Operation, ev.Outcome, ev.Reason)
		}
	}

	t.Run("read of the earlier tape is served before any backup", func(t *testing.T) {
		servedRead(t, early, earlySerial, "RBL001", earlyID, earlyMaterial)
	})
	t.Run("write before any backup is refused", func(t *testing.T) {
		refusedWrite(t, early, earlySerial, "RBL002", "", "no backup yet")
	})

	nextSecond()
	var backupLen int64
	backup := func(t *testing.T) {
		t.Helper()
		n, err := adminClient(t, env).Backup(ctx, []byte("backup passphrase"), io.Discard)
		if err != nil {
			t.Fatalf("backup: %v", err)
		}
		backupLen = n
	}
	backup(t)
	if backupLen == 0 || env.Server.LastBackup().Snapshot.IsZero() {
		t.Fatalf("backup of %d bytes, last backup %+v", backupLen, env.Server.LastBackup())
	}

	var writtenID string
	var writtenKey []byte
	t.Run("write after the backup is served", func(t *testing.T) {
		var err error
		writtenID, writtenKey, err = early.LTOWrite(deviceCtx(t), earlySerial, "RBL003", "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(writtenID, "rbe0") || len(writtenKey) != 32 {
			t.Fatalf("served key %q (%d bytes)", writtenID, len(writtenKey))
		}
	})

	// A key group created after the backup: its keys are in no backup.
	if _, err := env.Server.KeyGroups().Create(ctx, "rb_late", "rbl01-02"); err != nil {
		t.Fatal(err)
	}
	lateConf := addLTODrive(t, env, "rb-lto-late", lateSerial, "RB_LTO_LATE", "rb_late")
	late := newDeviceClient(t, lateConf, env.DeviceAddr)
	t.Run("key group newer than the backup: write refused", func(t *testing.T) {
		refusedWrite(t, late, lateSerial, "RBL004", "", "key group created after the backup")
	})
	t.Run("alias newer than the backup: write refused", func(t *testing.T) {
		refusedWrite(t, early, earlySerial, "RBL005", "rbl01", "alias created after the backup")
	})
	t.Run("alias in the backup: write served", func(t *testing.T) {
		if _, _, err := early.LTOWrite(deviceCtx(t), earlySerial, "RBL006", "rbe02"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("reads are never refused", func(t *testing.T) {
		servedRead(t, early, earlySerial, "RBL001", earlyID, earlyMaterial)
		servedRead(t, early, earlySerial, "RBL003", writtenID, writtenKey)
		// A key in no backup (a tape from before --require-backup, or
		// from a server whose key group was imported).
		servedRead(t, late, lateSerial, "RBL007", "rbl02", nil)
	})

	nextSecond()
	backup(t)
	t.Run("after the next backup the newer key group is served", func(t *testing.T) {
		id, k, err := late.LTOWrite(deviceCtx(t), lateSerial, "RBL008", "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id, "rbl0") {
			t.Fatalf("served key %q", id)
		}
		servedRead(t, late, lateSerial, "RBL008", id, k)
	})
}
