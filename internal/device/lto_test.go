package device_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	kmip "github.com/ovh/kmip-go"

	clientdevice "github.com/keywarden/keywarden/client/device"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
	"github.com/keywarden/keywarden/internal/usage"
)

// setupLTO starts a server with key group "ltokeys" (des01-03) and an LTO
// device group "ltodrives" that uses it.
func setupLTO(t *testing.T) *testenv.Env {
	t.Helper()
	env := testenv.Start(t)
	ctx := context.Background()
	if _, err := env.Server.KeyGroups().Create(ctx, "ltokeys", "des01-03"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.Devices().CreateGroup(ctx, devices.Group{
		Name: "ltodrives", Family: devices.FamilyLTO, KeyGroup: "ltokeys",
	}); err != nil {
		t.Fatal(err)
	}
	return env
}

// ltoClient issues a client certificate, binds it to a new active LTO
// device (with keyAlias, if any) and returns a device client for it.
func ltoClient(t *testing.T, env *testenv.Env, name, serial, group, keyAlias string) *clientdevice.Client {
	t.Helper()
	conf := env.IssueClient(t, name, pki.RoleClient)
	cert, err := x509.ParseCertificate(conf.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.Devices().AddDevice(context.Background(), devices.Device{
		Family: devices.FamilyLTO, Serial: serial, Group: group, State: devices.StateActive,
		KeyAlias: keyAlias, Fingerprints: []string{devices.Fingerprint(cert)},
	}); err != nil {
		t.Fatalf("add device: %v", err)
	}
	c, err := clientdevice.New(clientdevice.Config{Servers: []string{env.DeviceAddr}, TLS: conf, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantRefusal fails unless err is a protocol Error with status st.
func wantRefusal(t *testing.T, err error, st codec.Status) {
	t.Helper()
	var e *clientdevice.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %v, want a %s refusal", err, st)
	}
	if e.Status != st {
		t.Fatalf("status %s (%q), want %s", e.Status, e.Message, st)
	}
}

func TestLTOWriteRead(t *testing.T) {
	env := setupLTO(t)
	ctx := context.Background()
	c := ltoClient(t, env, "lto-1", "LTO0001", "ltodrives", "")

	t.Run("round robin wraps, read returns the written key", func(t *testing.T) {
		want := []string{"des01", "des02", "des03", "des01"}
		written := map[string][]byte{}
		for i, w := range want {
			volser := "VOL00" + string(rune('0'+i))
			keyID, key, err := c.LTOWrite(ctx, "LTO0001", volser, "")
			if err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
			if keyID != w {
				t.Fatalf("write %d: key id %q, want %q", i, keyID, w)
			}
			if prev, ok := written[keyID]; ok && !bytes.Equal(prev, key) {
				t.Fatalf("alias %s served two keys", keyID)
			}
			written[keyID] = key
			got, err := c.LTORead(ctx, "LTO0001", volser, keyID)
			if err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
			if !bytes.Equal(got, key) {
				t.Fatalf("read %d: key differs from the written one", i)
			}
		}
		if bytes.Equal(written["des01"], written["des02"]) || bytes.Equal(written["des02"], written["des03"]) {
			t.Fatal("two aliases served the same key")
		}
	})

	t.Run("request alias pins the key", func(t *testing.T) {
		keyID, _, err := c.LTOWrite(ctx, "LTO0001", "VOLREQ", "des03")
		if err != nil || keyID != "des03" {
			t.Fatalf("key id %q, err %v", keyID, err)
		}
	})

	t.Run("drive alias pins the key", func(t *testing.T) {
		pinned := ltoClient(t, env, "lto-2", "LTO0002", "ltodrives", "des02")
		for _, v := range []string{"VOLP01", "VOLP02"} {
			keyID, _, err := pinned.LTOWrite(ctx, "LTO0002", v, "")
			if err != nil || keyID != "des02" {
				t.Fatalf("key id %q, err %v", keyID, err)
			}
		}
	})

	t.Run("usage by alias finds the writes", func(t *testing.T) {
		recs, err := env.Server.Usage().Query(ctx, usage.Query{Alias: "des02"})
		if err != nil {
			t.Fatal(err)
		}
		vols := map[string]string{}
		for _, r := range recs {
			if r.Operation == "lto-write" && r.Outcome == usage.OutcomeOK {
				vols[r.Volser] = r.DriveSerial
				if r.KeyID != "des02" {
					t.Fatalf("record key id %q", r.KeyID)
				}
			}
		}
		for _, v := range []string{"VOL001", "VOLP01", "VOLP02"} {
			if _, ok := vols[v]; !ok {
				t.Fatalf("no lto-write record of %s under des02: %+v", v, recs)
			}
		}
		reads, err := env.Server.Usage().Query(ctx, usage.Query{Volser: "VOL001"})
		if err != nil {
			t.Fatal(err)
		}
		var sawRead bool
		for _, r := range reads {
			sawRead = sawRead || (r.Operation == "lto-read" && r.KeyID == "des02")
		}
		if !sawRead {
			t.Fatalf("no lto-read record of VOL001: %+v", reads)
		}
	})

	t.Run("unknown key id", func(t *testing.T) {
		_, err := c.LTORead(ctx, "LTO0001", "VOLX", "nosuch")
		wantRefusal(t, err, codec.StatusNotFound)
	})

	t.Run("destroyed key", func(t *testing.T) {
		g, err := env.Server.KeyGroups().Get(ctx, "ltokeys")
		if err != nil {
			t.Fatal(err)
		}
		id := g.Keys[0].ObjectID // des01
		km := env.Server.Keys()
		if err := km.Revoke(ctx, id, kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeCessationOfOperation}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := km.Destroy(ctx, id); err != nil {
			t.Fatal(err)
		}
		_, err = c.LTORead(ctx, "LTO0001", "VOL000", "des01")
		wantRefusal(t, err, codec.StatusWrongState)
		_, _, err = c.LTOWrite(ctx, "LTO0001", "VOLD", "des01")
		wantRefusal(t, err, codec.StatusWrongState)
		var e *clientdevice.Error
		if errors.As(err, &e) && e.Message != "LTO key destroyed or not active" {
			t.Fatalf("message %q", e.Message)
		}
	})
}

func TestLTONoKeyGroup(t *testing.T) {
	env := setupLTO(t)
	ctx := context.Background()
	if _, err := env.Server.Devices().CreateGroup(ctx, devices.Group{Name: "bare", Family: devices.FamilyLTO}); err != nil {
		t.Fatal(err)
	}
	c := ltoClient(t, env, "lto-3", "LTO0003", "bare", "")
	_, _, err := c.LTOWrite(ctx, "LTO0003", "VOL1", "")
	wantRefusal(t, err, codec.StatusNotFound)
	// An explicit alias still works without a group key group.
	if keyID, _, err := c.LTOWrite(ctx, "LTO0003", "VOL2", "des01"); err != nil || keyID != "des01" {
		t.Fatalf("key id %q, err %v", keyID, err)
	}
}
