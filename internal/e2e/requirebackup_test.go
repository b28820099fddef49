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

	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
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
