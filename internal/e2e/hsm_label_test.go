package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/barrier/softhsmtest"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
)

// startHSMServer starts a server on dir (master key in a token) with
// requireHardwareProtectionForSymmetricKeys as asked; it is shut down at
// the end of t.
func startHSMServer(t *testing.T, dir string, requireHW bool) *server.Server {
	t.Helper()
	srv, err := server.New(server.Config{
		DataDir: dir, KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		ShutdownGrace: time.Second, RequireHardwareProtection: requireHW,
	})
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

// apiFor returns an admin API client of srv.
func apiFor(t *testing.T, srv *server.Server, dir string) *client.Client {
	t.Helper()
	_, _, adminAddr := srv.Addrs()
	p := pki.PathsFor(dir)
	c, err := client.New(client.Config{Addr: "https://" + adminAddr, CACert: p.CACert, ClientCert: p.AdminCert, ClientKey: p.AdminKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestHSMLabel3592 writes and reads a 3592 volume whose data key is
// wrapped under HSM-resident labels: the read unwraps the EEDK in the
// token, before and after a restart, and the label's private key cannot be
// exported.
func TestHSMLabel3592(t *testing.T) {
	tok := softhsmtest.New(t, "kw-labels-e2e")
	dir := t.TempDir()
	err := server.Init(context.Background(), server.InitConfig{
		DataDir: dir, Seal: barrier.KindPKCS11,
		PKCS11:  barrier.PKCS11Config{Module: tok.Module, TokenLabel: tok.Label},
		PINFile: tok.PINFile,
	})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	t.Setenv(barrier.PINEnv, tok.PIN)

	const serial = "000007888499"
	var (
		img   []byte
		data  = randomData(t, 64<<10)
		drive *tls.Config
	)
	t.Run("write with HSM labels", func(t *testing.T) {
		srv := startHSMServer(t, dir, true)
		api := apiFor(t, srv, dir)
		ctx := context.Background()
		l1, err := api.CreateLabel(ctx, client.LabelSpec{Name: "hsm-l1", HSM: true})
		if err != nil {
			t.Fatalf("create --hsm: %v", err)
		}
		// Hardware protection required: a label created without --hsm is
		// generated in the token all the same.
		l2, err := api.CreateLabel(ctx, client.LabelSpec{Name: "hsm-l2"})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		for _, l := range []*client.Label{l1, l2} {
			if !l.HSM || l.HSMToken != tok.Label || l.HSMKeyID == "" || l.PrivateKeyID != "" || l.OAEPHash != labels.HashSHA1 {
				t.Errorf("label %+v; want it in token %q with OAEP SHA-1 (SoftHSM2)", l, tok.Label)
			}
		}
		_, err = api.ExportLabelKey(ctx, "hsm-l1", client.LabelKeyExport{Format: "pem"})
		if client.StatusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), "HSM") {
			t.Errorf("export an HSM label's key: %v; want 409, key in the HSM", err)
		}
		reg := srv.Devices()
		if _, err := reg.CreateGroup(ctx, devices.Group{Name: "HSM_3592", Family: devices.Family3592,
			Alias1: "hsm-l1", Alias2: "hsm-l2", Unknown: devices.PolicyReject}); err != nil {
			t.Fatal(err)
		}
		drive = issueFromDir(t, dir, "hsm-drive")
		if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.Family3592, Serial: serial,
			Group: "HSM_3592", State: devices.StateActive, Fingerprints: []string{certFingerprint(t, drive)}}); err != nil {
			t.Fatal(err)
		}
		_, deviceAddr, _ := srv.Addrs()
		c := newDeviceClient(t, drive, deviceAddr)
		img = writeVolume(t, c, serial, "HSM001", data)
		got, err := readVolume(c, serial, img)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back: %v", err)
		}
	})
	t.Run("read after a restart", func(t *testing.T) {
		srv := startHSMServer(t, dir, false)
		_, deviceAddr, _ := srv.Addrs()
		got, err := readVolume(newDeviceClient(t, drive, deviceAddr), serial, img)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read after restart: %v", err)
		}
	})
}

// TestRequireHardwareWithoutHSM: a server whose master key is not in a
// token refuses to start with hardware protection required.
func TestRequireHardwareWithoutHSM(t *testing.T) {
	_, err := server.New(server.Config{
		DataDir: t.TempDir(), KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		RequireHardwareProtection: true,
	})
	if err == nil || !strings.Contains(err.Error(), "--seal pkcs11") {
		t.Fatalf("New = %v; want a refusal naming --seal pkcs11", err)
	}
}

// issueFromDir issues a client certificate from dir's CA (opened with the
// PIN in the environment).
func issueFromDir(t *testing.T, dir, name string) *tls.Config {
	t.Helper()
	mk, err := barrier.OpenMasterKeyWith(dir, barrier.MasterKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeIfCloser(mk)
	certPath, keyPath, err := pki.IssueClient(dir, mk, name, pki.RoleClient, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	conf, err := pki.ClientTLS(pki.PathsFor(dir).CACert, certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

func closeIfCloser(mk barrier.MasterKey) {
	if c, ok := mk.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// checkOAEPRoundTrip wraps a random value under pub and unwraps it with dec.
func checkOAEPRoundTrip(t *testing.T, pub *rsa.PublicKey, dec crypto.Decrypter, h crypto.Hash) {
	t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	ct, err := rsa.EncryptOAEP(h.New(), rand.Reader, pub, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dec.Decrypt(rand.Reader, ct, &rsa.OAEPOptions{Hash: h})
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("unwrap in the HSM: %v", err)
	}
}
