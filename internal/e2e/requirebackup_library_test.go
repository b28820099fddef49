package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/sim/library"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestRequireBackupTapeLibrary: the KMIP Tape Library profile (Create of
// an AES-256 key with LIBRARY-LTO Application Specific Information, then
// Get) is gated by the KMIP serve gate with the rule of the device
// protocol: a key created after the last backup is not handed out. The
// profile creates one key per cartridge, so every new cartridge waits for
// a backup (its Create, recorded in the usage log, does not count as
// served). KMIP cannot tell a read's Get from a write's: a key the usage
// log shows already served to the library (a cartridge written before the
// server required backups) is served again, so that cartridge always
// reads.
func TestRequireBackupTapeLibrary(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	newLibrary := func(t *testing.T, env *testenv.Env) *library.Client {
		t.Helper()
		c, err := library.New(library.Config{Servers: []string{env.KMIPAddr}, TLS: env.AdminTLS, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	refused := func(t *testing.T, err error, why string) {
		t.Helper()
		var le *library.Error
		if !errors.As(err, &le) || le.Operation != "Get" || le.Reason != "PermissionDenied" || !strings.Contains(le.Message, why) {
			t.Fatalf("got %v, want the Get refused with Permission Denied saying %q", err, why)
		}
	}

	var early library.Key
	if !t.Run("cartridge written without --require-backup", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithDataDir(dir))
		var err error
		if early, err = newLibrary(t, env).CreateKey(ctx, "RBK001L8"); err != nil {
			t.Fatal(err)
		}
	}) {
		t.FailNow()
	}

	rec := &gatedRecorder{Memory: &audit.Memory{}}
	env := testenv.Start(t, testenv.WithDataDir(dir), testenv.WithAudit(rec),
		testenv.WithConfig(func(c *server.Config) { c.RequireBackup = true }))
	lib := newLibrary(t, env)
	t.Run("new cartridge before any backup: Get refused", func(t *testing.T) {
		rec.Reset()
		_, err := lib.CreateKey(ctx, "RBK002L8")
		refused(t, err, "no backup has been taken")
		var gets []audit.Event
		for _, e := range eventsOf(rec, audit.ProtoKMIP) {
			if e.Operation == "Get" {
				gets = append(gets, e)
			}
		}
		if len(gets) != 1 || gets[0].Outcome != audit.Denied || !strings.Contains(gets[0].Reason, "no backup has been taken") {
			t.Fatalf("Get events %s, want one denied saying why", dumpEvents(gets))
		}
	})
	read := func(t *testing.T) {
		t.Helper()
		k, err := lib.FetchKey(ctx, early.KeyID)
		if err != nil {
			t.Fatal(err)
		}
		if k.UniqueIdentifier != early.UniqueIdentifier || !bytes.Equal(k.Material, early.Material) {
			t.Fatalf("read found object %s, want %s with the key written", k.UniqueIdentifier, early.UniqueIdentifier)
		}
	}
	t.Run("earlier cartridge before any backup: served", read)
	t.Run("a refused Get does not make a key served", func(t *testing.T) {
		_, err := lib.CreateKey(ctx, "RBK004L8")
		refused(t, err, "no backup has been taken")
		kc := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
		uid := locateByBarcode(t, kc, "RBK004L8")
		it, err := kc.call(&payloads.GetRequestPayload{UniqueIdentifier: uid})
		if err != nil {
			t.Fatal(err)
		}
		if it.ResultStatus == kmip.ResultStatusSuccess || it.ResultReason != kmip.ResultReasonPermissionDenied {
			t.Fatalf("second Get of the refused key: %v %v %q", it.ResultStatus, it.ResultReason, it.ResultMessage)
		}
	})

	nextSecond()
	if _, err := adminClient(t, env).Backup(ctx, []byte("backup passphrase"), io.Discard); err != nil {
		t.Fatalf("backup: %v", err)
	}
	t.Run("earlier cartridge after the backup: served", read)
	t.Run("new cartridge after the backup: Get refused", func(t *testing.T) {
		_, err := lib.CreateKey(ctx, "RBK003L8")
		refused(t, err, "after the last backup")
	})
}

// locateByBarcode returns the one object whose Alternative Name is barcode.
func locateByBarcode(t *testing.T, c *kmipClient, barcode string) string {
	t.Helper()
	loc := c.must(&payloads.LocateRequestPayload{Attribute: []kmip.Attribute{{
		AttributeName: kmip.AttributeNameAlternativeName,
		AttributeValue: kmip.AlternativeName{AlternativeNameValue: barcode,
			AlternativeNameType: kmip.AlternativeNameTypeUninterpretedTextString},
	}}}).(*payloads.LocateResponsePayload)
	if len(loc.UniqueIdentifier) != 1 {
		t.Fatalf("cartridge %s: %d keys, want 1", barcode, len(loc.UniqueIdentifier))
	}
	return loc.UniqueIdentifier[0]
}
