package admin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"

	"github.com/keywarden/keywarden/internal/admin"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// dialKMIP connects a KMIP client with the administrator certificate.
func dialKMIP(t *testing.T, env *testenv.Env) *kmipclient.Client {
	t.Helper()
	p := pki.PathsFor(env.DataDir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := kmipclient.DialContext(ctx, env.KMIPAddr,
		kmipclient.WithRootCAFile(p.CACert), kmipclient.WithClientCertFiles(p.AdminCert, p.AdminKey))
	if err != nil {
		t.Fatalf("dial KMIP %s: %v", env.KMIPAddr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// createKeys creates n AES-256 keys named key-0 … over KMIP and returns
// their ids.
func createKeys(t *testing.T, env *testenv.Env, n int) []string {
	t.Helper()
	c := dialKMIP(t, env)
	var ids []string
	for i := range n {
		resp, err := c.Create().AES(256, kmip.CryptographicUsageEncrypt|kmip.CryptographicUsageDecrypt).
			WithName(fmt.Sprintf("key-%d", i)).Exec()
		if err != nil {
			t.Fatalf("KMIP Create: %v", err)
		}
		ids = append(ids, resp.UniqueIdentifier)
	}
	return ids
}

func TestKeys(t *testing.T) {
	env := testenv.Start(t)
	ids := createKeys(t, env, 2)
	resp, err := dialKMIP(t, env).Get(ids[0]).Exec()
	if err != nil {
		t.Fatal(err)
	}
	material, err := resp.Object.(*kmip.SymmetricKey).KeyMaterial()
	if err != nil {
		t.Fatal(err)
	}
	operator := env.IssueClient(t, "op-1", pki.RoleOperator)
	auditor := env.IssueClient(t, "aud-1", pki.RoleAuditor)

	// noMaterial fails if a body holds the key material in any usual form.
	noMaterial := func(t *testing.T, body []byte) {
		t.Helper()
		for _, enc := range []string{string(material), hex.EncodeToString(material), base64.StdEncoding.EncodeToString(material)} {
			if bytes.Contains(body, []byte(enc)) {
				t.Fatalf("key material in the answer: %s", body)
			}
		}
	}

	t.Run("list filters", func(t *testing.T) {
		tests := []struct {
			query string
			want  int
		}{
			{"", 2},
			{"?type=SymmetricKey", 2},
			{"?type=symmetric-key", 2},
			{"?type=PrivateKey", 0},
			{"?group=default", 2},
			{"?group=OTHER", 0},
			{"?state=PreActive", 2},
			{"?state=Active", 0},
			{"?limit=1", 1},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				a := call(t, env, auditor, "GET", "/v1/keys"+tt.query, nil)
				var got []admin.Key
				a.decode(t, &got)
				noMaterial(t, a.body)
				if len(got) != tt.want {
					t.Fatalf("%d keys, want %d: %s", len(got), tt.want, a.body)
				}
			})
		}
		a := call(t, env, auditor, "GET", "/v1/keys?limit=1", nil)
		if total := a.header.Get("X-Total-Count"); total != "2" {
			t.Fatalf("X-Total-Count %q, want 2", total)
		}
	})
	t.Run("list entries", func(t *testing.T) {
		var got []admin.Key
		call(t, env, env.AdminTLS, "GET", "/v1/keys", nil).decode(t, &got)
		for i, k := range got {
			want := admin.Key{ID: ids[i], Type: "SymmetricKey", Group: "default", State: "PreActive",
				Names: []string{fmt.Sprintf("key-%d", i)}, Algorithm: "AES", Length: 256, Created: k.Created}
			if k.Created.IsZero() || fmt.Sprint(k) != fmt.Sprint(want) {
				t.Errorf("key %d = %+v, want %+v", i, k, want)
			}
		}
	})
	t.Run("show", func(t *testing.T) {
		a := call(t, env, operator, "GET", "/v1/keys/"+ids[0], nil)
		noMaterial(t, a.body)
		var k admin.Key
		a.decode(t, &k)
		attrs := map[string]string{}
		for _, at := range k.Attributes {
			attrs[at.Name] = string(at.Value)
		}
		for name, want := range map[string]string{
			"Unique Identifier":       `"` + ids[0] + `"`,
			"Cryptographic Algorithm": `"AES"`,
			"Cryptographic Length":    "256",
			"State":                   `"PreActive"`,
		} {
			if attrs[name] != want {
				t.Errorf("attribute %q = %s, want %s (all: %v)", name, attrs[name], want, attrs)
			}
		}
	})
	t.Run("destroy", func(t *testing.T) {
		a := call(t, env, operator, "POST", "/v1/keys/"+ids[1]+"/destroy", nil)
		mustStatus(t, a, 403, "operator destroys")
		a = call(t, env, env.AdminTLS, "POST", "/v1/keys/"+ids[1]+"/destroy", nil)
		var k admin.Key
		a.decode(t, &k)
		if a.status != 200 || k.State != "Destroyed" {
			t.Fatalf("destroy: %d %s", a.status, a.body)
		}
		var live, destroyed []admin.Key
		call(t, env, env.AdminTLS, "GET", "/v1/keys", nil).decode(t, &live)
		call(t, env, env.AdminTLS, "GET", "/v1/keys?state=Destroyed", nil).decode(t, &destroyed)
		if len(live) != 1 || live[0].ID != ids[0] || len(destroyed) != 1 || destroyed[0].ID != ids[1] {
			t.Fatalf("after destroy: live %+v, destroyed %+v", live, destroyed)
		}
	})
}
