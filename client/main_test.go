package client_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
)

// dataDir is the data directory of the server TestMain starts; its admin
// listener is in $KEYWARDEN_ADDR and the administrator's credentials in
// the other KEYWARDEN_ variables, as a deployment would set them.
var dataDir string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "keywarden-client-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	dataDir = dir
	srv, err := server.New(server.Config{
		DataDir: dir, KMIPAddr: "127.0.0.1:0", DeviceAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		ShutdownGrace: 2 * time.Second,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := srv.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	_, _, adminAddr := srv.Addrs()
	p := pki.PathsFor(dir)
	for k, v := range map[string]string{
		client.EnvAddr: "https://" + adminAddr, client.EnvCACert: p.CACert,
		client.EnvClientCert: p.AdminCert, client.EnvClientKey: p.AdminKey,
	} {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// openMasterKey opens the test server's master key.
func openMasterKey() (barrier.MasterKey, error) { return barrier.OpenMasterKey(dataDir, "") }
