package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/barrier/softhsmtest"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// getSymmetric returns the key material of a symmetric key over KMIP.
func getSymmetric(t *testing.T, c *kmipClient, id string) []byte {
	t.Helper()
	resp := c.must(&payloads.GetRequestPayload{UniqueIdentifier: id}).(*payloads.GetResponsePayload)
	sk, ok := resp.Object.(*kmip.SymmetricKey)
	if !ok {
		t.Fatalf("Get %s: object %T", id, resp.Object)
	}
	m, err := sk.KeyMaterial()
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	return m
}

// TestHSMMasterKey runs a server whose master key lives in a SoftHSM2
// token: keys created over KMIP survive a restart; a wrong PIN, no PIN and
// a missing token each stop startup with a message naming the token.
func TestHSMMasterKey(t *testing.T) {
	tok := softhsmtest.New(t, "kw-e2e")
	dir := t.TempDir()
	err := server.Init(context.Background(), server.InitConfig{
		DataDir: dir, Seal: barrier.KindPKCS11,
		PKCS11:  barrier.PKCS11Config{Module: tok.Module, TokenLabel: tok.Label},
		PINFile: tok.PINFile,
	})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	// The server (and testenv) read the PIN from the environment.
	t.Setenv(barrier.PINEnv, tok.PIN)

	want := map[string][]byte{}
	t.Run("first run", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithDataDir(dir))
		c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
		for i := range 3 {
			created := c.must(aesKey(fmt.Sprintf("hsm-key-%d", i))).(*payloads.CreateResponsePayload)
			want[created.UniqueIdentifier] = getSymmetric(t, c, created.UniqueIdentifier)
		}
	})
	if len(want) != 3 {
		t.Fatalf("%d keys created", len(want))
	}
	t.Run("restart: keys still readable", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithDataDir(dir))
		c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
		for id, material := range want {
			if got := getSymmetric(t, c, id); !bytes.Equal(got, material) {
				t.Errorf("key %s changed across the restart", id)
			}
		}
	})
	t.Run("no key material in the data directory", func(t *testing.T) {
		for id, material := range want {
			if found := grepDir(t, dir, material); found != "" {
				t.Errorf("key %s found in the clear in %s", id, found)
			}
		}
		if found := grepDir(t, dir, []byte(tok.PIN)); found != "" {
			t.Errorf("the PIN is written in %s", found)
		}
	})

	refusals := []struct {
		name    string
		pin     string
		before  func(t *testing.T)
		wantIs  error
		wantMsg []string
	}{
		{name: "wrong PIN", pin: "wrong-pin-1234", wantIs: barrier.ErrWrongPIN,
			wantMsg: []string{`token "kw-e2e"`, tok.Module, "refused the PIN"}},
		{name: "no PIN", wantIs: barrier.ErrPINRequired,
			wantMsg: []string{`token "kw-e2e"`, "--pin-file", barrier.PINEnv}},
		{name: "missing token", pin: tok.PIN, wantIs: barrier.ErrTokenNotFound,
			before: func(t *testing.T) {
				cmd := exec.Command("softhsm2-util", "--delete-token", "--token", tok.Label)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("delete token: %v\n%s", err, out)
				}
			},
			wantMsg: []string{`token "kw-e2e"`, tok.Module, "no token with that label"}},
	}
	for _, tc := range refusals {
		t.Run(tc.name+" refused", func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			t.Setenv(barrier.PINEnv, tc.pin)
			srv, err := server.New(server.Config{
				DataDir: dir, KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
				ShutdownGrace: time.Second,
			})
			if err == nil {
				_ = srv.Shutdown(context.Background())
				t.Fatal("server started")
			}
			if !errors.Is(err, tc.wantIs) {
				t.Errorf("New = %v; want it to wrap %v", err, tc.wantIs)
			}
			for _, w := range tc.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New = %v; want it to say %q", err, w)
				}
			}
			if tc.pin != "" && strings.Contains(err.Error(), tc.pin) {
				t.Errorf("the error shows the PIN: %v", err)
			}
		})
	}
}

// grepDir returns the first file under dir containing needle, or "".
func grepDir(t *testing.T, dir string, needle []byte) string {
	t.Helper()
	var found string
	err := walkFiles(dir, func(path string, data []byte) {
		if found == "" && bytes.Contains(data, needle) {
			found = path
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// walkFiles calls fn with the content of every regular file under dir.
func walkFiles(dir string, fn func(path string, data []byte)) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		path := dir + "/" + e.Name()
		switch {
		case e.IsDir():
			if err := walkFiles(path, fn); err != nil {
				return err
			}
		case e.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fn(path, data)
		}
	}
	return nil
}
