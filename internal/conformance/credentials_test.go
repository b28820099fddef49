package conformance_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// The identities the credential vectors name in their request headers
// (TC_111: Username and Password; TC_112: Device), set up on their server
// through the admin API as an administrator would.
var (
	vectorUsers = []client.KMIPUserSpec{
		{Name: "Fred", Password: "password1"},
		{Name: "Barney", Password: "secret2"},
	}
	vectorDeviceSerials = []string{"serNum123456", "serNum101010"}
)

// needsCredentials reports whether a group of files (a TC file is its own
// group) uses the identities above.
func needsCredentials(group string) bool {
	return strings.HasPrefix(group, "TC_111_") || strings.HasPrefix(group, "TC_112_")
}

// setupCredentials adds the vectors' KMIP users and registers their
// devices (GENERIC, group default, active) on env's server.
func setupCredentials(t *testing.T, env *testenv.Env) {
	t.Helper()
	p := pki.PathsFor(env.DataDir)
	c, err := client.New(client.Config{Addr: "https://" + env.AdminAddr, CACert: p.CACert,
		ClientCert: p.AdminCert, ClientKey: p.AdminKey, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	defer c.Close()
	ctx := context.Background()
	for _, u := range vectorUsers {
		if _, err := c.AddKMIPUser(ctx, u); err != nil {
			t.Fatalf("add kmip user %s: %v", u.Name, err)
		}
	}
	for _, serial := range vectorDeviceSerials {
		if _, err := c.AddDevice(ctx, client.DeviceSpec{Family: "GENERIC", Serial: serial, Group: "default", State: "active"}); err != nil {
			t.Fatalf("add device %s: %v", serial, err)
		}
	}
}
