package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/barrier/softhsmtest"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestMasterKeyRotationOnline replaces a running server's file master key
// by a passphrase-sealed one through the admin API: keys are served before
// and after, a label is signed by the re-sealed CA key, and the server
// restarts with the new passphrase (and not without it).
func TestMasterKeyRotationOnline(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pass, []byte("rotated passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	t.Run("rotate while serving", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithDataDir(dir))
		c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
		for i := range 20 {
			id := c.must(aesKey(fmt.Sprintf("mk-key-%d", i))).(*payloads.CreateResponsePayload).UniqueIdentifier
			want[id] = getSymmetric(t, c, id)
		}
		api := adminClient(t, env)
		if _, err := api.RotateMasterKey(context.Background(), client.MasterKeySpec{Seal: "bogus"}); client.StatusOf(err) != 400 {
			t.Errorf("unknown seal: %v; want 400", err)
		}
		out, err := api.RotateMasterKey(context.Background(), client.MasterKeySpec{Seal: barrier.KindPassphrase, PassphraseFile: pass})
		if err != nil {
			t.Fatalf("rotate: %v", err)
		}
		if out.Old != barrier.KindFile || out.New != barrier.KindPassphrase {
			t.Errorf("rotation %+v; want file → passphrase", out)
		}
		for i := range 20 { // new keys after the rotation
			id := c.must(aesKey(fmt.Sprintf("mk-after-%d", i))).(*payloads.CreateResponsePayload).UniqueIdentifier
			want[id] = getSymmetric(t, c, id)
		}
		for id, m := range want {
			if got := getSymmetric(t, c, id); !bytes.Equal(got, m) {
				t.Fatalf("key %s changed", id)
			}
		}
		// The CA key was re-sealed under the new master key.
		if _, err := env.Server.Labels().Create(context.Background(), "after-mk-rotation", labels.CreateOptions{}); err != nil {
			t.Errorf("CA-signed label after the rotation: %v", err)
		}
		k, err := api.Keyring(context.Background())
		if err != nil || k.MasterKey != barrier.KindPassphrase {
			t.Errorf("keyring %+v, %v; want master key passphrase", k, err)
		}
	})
	if _, err := os.Stat(filepath.Join(dir, barrier.MasterKeyRotationDir)); !os.IsNotExist(err) {
		t.Fatalf("rotation directory left behind: %v", err)
	}
	t.Run("restart without the passphrase refused", func(t *testing.T) {
		_, err := server.New(server.Config{DataDir: dir, KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
		if err == nil {
			t.Fatal("server started without the new passphrase")
		}
	})
	t.Run("restart with the new passphrase", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithDataDir(dir), testenv.WithPassphraseFile(pass))
		c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
		for id, m := range want {
			if got := getSymmetric(t, c, id); !bytes.Equal(got, m) {
				t.Fatalf("key %s changed across the restart", id)
			}
		}
	})
}

// TestMasterKeyRotationOnlinePKCS11 rotates a master key in SoftHSM2 to a
// new key in the same token while an HSM-resident label exists: the old
// key is deleted from the token, the label still unwraps, before and
// after a restart.
func TestMasterKeyRotationOnlinePKCS11(t *testing.T) {
	tok := softhsmtest.New(t, "kw-mk-online")
	dir := t.TempDir()
	err := server.Init(context.Background(), server.InitConfig{
		DataDir: dir, Seal: barrier.KindPKCS11,
		PKCS11: barrier.PKCS11Config{Module: tok.Module, TokenLabel: tok.Label}, PINFile: tok.PINFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(barrier.PINEnv, tok.PIN)
	oldDescriptor, err := os.ReadFile(filepath.Join(dir, barrier.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	probe := func(t *testing.T, srv *server.Server) {
		t.Helper()
		pub, _, err := srv.Labels().PublicKey(context.Background(), "hsm-rot")
		if err != nil {
			t.Fatal(err)
		}
		dec, h, err := srv.Labels().Decrypter(context.Background(), "hsm-rot")
		if err != nil {
			t.Fatal(err)
		}
		checkOAEPRoundTrip(t, pub, dec, h)
	}
	t.Run("rotate", func(t *testing.T) {
		srv := startHSMServer(t, dir, false)
		if _, err := srv.Labels().Create(context.Background(), "hsm-rot", labels.CreateOptions{HSM: true}); err != nil {
			t.Fatal(err)
		}
		api := apiFor(t, srv, dir)
		out, err := api.RotateMasterKey(context.Background(), client.MasterKeySpec{
			Seal: barrier.KindPKCS11, PKCS11Module: tok.Module, TokenLabel: tok.Label,
		})
		if err != nil {
			t.Fatalf("rotate: %v", err)
		}
		if out.Old != barrier.KindPKCS11 || out.New != barrier.KindPKCS11 {
			t.Errorf("rotation %+v", out)
		}
		probe(t, srv)
	})
	newDescriptor, err := os.ReadFile(filepath.Join(dir, barrier.MasterKeyFile))
	if err != nil || bytes.Equal(newDescriptor, oldDescriptor) {
		t.Fatalf("descriptor unchanged after the rotation (%v)", err)
	}
	t.Run("old key gone from the token", func(t *testing.T) {
		old := t.TempDir()
		if err := os.WriteFile(filepath.Join(old, barrier.MasterKeyFile), oldDescriptor, 0o600); err != nil {
			t.Fatal(err)
		}
		mk, err := barrier.OpenMasterKeyWith(old, barrier.MasterKeyOptions{})
		if err == nil {
			closeIfCloser(mk)
			t.Fatal("the old master key still opens")
		}
		if !errors.Is(err, barrier.ErrMasterKeyNotFound) {
			t.Errorf("open the old master key: %v; want ErrMasterKeyNotFound", err)
		}
	})
	t.Run("restart", func(t *testing.T) {
		probe(t, startHSMServer(t, dir, false))
	})
}
