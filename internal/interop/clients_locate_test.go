package interop

// Clients that find their keys with Locate, each with its own habit:
//   - MySQL keyring_okv / component_keyring_kmip (KMIP 1.1,
//     dev.mysql.com/doc/refman/8.4/en/keyring-okv-plugin.html) and Percona's
//     keyring_kmip (github.com/percona/psmysql-docs pull 710: "object_group:
//     KMIP object group for registering and enumerating objects",
//     "max_objects, default 65535: maximum number of KMIP objects the backend
//     retrieves per object type (symmetric keys, secret data) in a single
//     locate operation") enumerate their keyring with one Locate per object
//     type carrying Object Group and Maximum Items;
//   - Ceph RGW (docs.ceph.com/en/latest/radosgw/kmip/) turns the S3 key id
//     into a Name through rgw_crypt_kmip_kms_key_template ("pykmip-$keyid"),
//     Locates by that Name, then Gets the one object found; run at KMIP 1.0,
//     the oldest version, on a fresh connection per request;
//   - FortiOS (github.com/Cosmian/kms issues 824: FortiGate resolves each of
//     its IPsec keys, ENC/AUTH in both directions, by a Locate filtered on
//     Name, and a server that answers every name with the same key breaks
//     IPsec) sends the filter wrapped in a Template Attribute structure, in
//     the Create/Register style, rather than as bare Attribute fields (as
//     keywarden issue 6 describes); each name must resolve to its own key.

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/testenv"
)

func TestClientMySQLKeyring(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	c := dialAdmin(t, env, kmip.V1_1)
	usage := kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt

	register := func(t *testing.T, group string, secret bool) string {
		t.Helper()
		v := make([]byte, 32)
		_, _ = rand.Read(v)
		var id string
		if secret {
			resp, err := c.Register().Secret(kmip.SecretDataTypePassword, v).
				WithAttribute(kmip.AttributeNameObjectGroup, group).Exec()
			if err != nil {
				t.Fatalf("Register secret data in %q: %v", group, err)
			}
			id = resp.UniqueIdentifier
		} else {
			resp, err := c.Register().SymmetricKey(kmip.CryptographicAlgorithmAES, usage, v).
				WithAttribute(kmip.AttributeNameObjectGroup, group).Exec()
			if err != nil {
				t.Fatalf("Register symmetric key in %q: %v", group, err)
			}
			id = resp.UniqueIdentifier
		}
		if _, err := c.Activate(id).Exec(); err != nil {
			t.Fatalf("Activate %s: %v", id, err)
		}
		return id
	}
	var keys, secrets []string
	for range 3 {
		keys = append(keys, register(t, "mysql-node1", false))
	}
	secrets = append(secrets, register(t, "mysql-node1", true))
	other := register(t, "mysql-node2", false)

	locate := func(t *testing.T, group string, ot kmip.ObjectType, max int32) []string {
		t.Helper()
		resp, err := c.Locate().WithMaxItems(max).
			WithAttribute(kmip.AttributeNameObjectType, ot).
			WithAttribute(kmip.AttributeNameObjectGroup, group).Exec()
		if err != nil {
			t.Fatalf("Locate Object Group %q, %v, Maximum Items %d: %v", group, ot, max, err)
		}
		return resp.UniqueIdentifier
	}
	tests := []struct {
		name  string
		group string
		ot    kmip.ObjectType
		max   int32
		want  []string // nil with wantN: any wantN of them
		from  []string
		wantN int
	}{
		{name: "keys of the group", group: "mysql-node1", ot: kmip.ObjectTypeSymmetricKey, max: 65535, want: keys},
		{name: "secrets of the group", group: "mysql-node1", ot: kmip.ObjectTypeSecretData, max: 65535, want: secrets},
		{name: "other group", group: "mysql-node2", ot: kmip.ObjectTypeSymmetricKey, max: 65535, want: []string{other}},
		{name: "unknown group", group: "mysql-node3", ot: kmip.ObjectTypeSymmetricKey, max: 65535, want: []string{}},
		{name: "maximum items caps the answer", group: "mysql-node1", ot: kmip.ObjectTypeSymmetricKey, max: 2, from: keys, wantN: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := locate(t, tc.group, tc.ot, tc.max)
			if tc.from != nil {
				if len(got) != tc.wantN {
					t.Fatalf("Locate = %v, want %d items", got, tc.wantN)
				}
				for _, id := range got {
					if !slices.Contains(tc.from, id) {
						t.Errorf("Locate returned %s, not among %v", id, tc.from)
					}
				}
				return
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Locate = %v, want %v", got, want)
			}
		})
	}
}

func TestClientCephRGW(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	c := dialAdmin(t, env, kmip.V1_0)
	usage := kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt

	// The administrator creates one key per S3 key id, named by the template.
	ids := map[string]string{}
	for _, keyID := range []string{"bucket-a", "bucket-b"} {
		resp, err := c.Create().AES(256, usage).WithName("pykmip-" + keyID).Exec()
		if err != nil {
			t.Fatalf("Create %s: %v", keyID, err)
		}
		if _, err := c.Activate(resp.UniqueIdentifier).Exec(); err != nil {
			t.Fatalf("Activate %s: %v", keyID, err)
		}
		ids[keyID] = resp.UniqueIdentifier
	}
	for keyID, want := range ids {
		t.Run(keyID, func(t *testing.T) {
			// RGW: one connection per request, Locate by Name, then Get.
			rgw := dialAdmin(t, env, kmip.V1_0)
			loc, err := rgw.Locate().WithName("pykmip-" + keyID).Exec()
			if err != nil {
				t.Fatalf("Locate Name: %v", err)
			}
			if !slices.Equal(loc.UniqueIdentifier, []string{want}) {
				t.Fatalf("Locate Name pykmip-%s = %v, want [%s]", keyID, loc.UniqueIdentifier, want)
			}
			if m := getSymmetric(t, rgw, loc.UniqueIdentifier[0]); len(m) != 32 {
				t.Errorf("Get: %d bytes of key material, want 32", len(m))
			}
		})
	}
}

// fortiLocateRequest is FortiOS's Locate request payload: the filter comes
// in a Template Attribute structure.
type fortiLocateRequest struct {
	MaximumItems      int32 `ttlv:",omitempty"`
	TemplateAttribute kmip.TemplateAttribute
}

func (*fortiLocateRequest) Operation() kmip.Operation { return kmip.OperationLocate }

func TestClientFortiOS(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	c := dialAdmin(t, env, kmip.V1_2)
	usage := kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt

	names := []string{"fgt-vpn1-enc-in", "fgt-vpn1-enc-out", "fgt-vpn1-auth-in", "fgt-vpn1-auth-out"}
	ids := map[string]string{}
	for _, name := range names {
		resp, err := c.Create().AES(256, usage).WithName(name).Exec()
		if err != nil {
			t.Fatalf("Create %s: %v", name, err)
		}
		if _, err := c.Activate(resp.UniqueIdentifier).Exec(); err != nil {
			t.Fatalf("Activate %s: %v", name, err)
		}
		ids[name] = resp.UniqueIdentifier
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			resp, err := c.Request(ctx, &fortiLocateRequest{
				MaximumItems: 1,
				TemplateAttribute: kmip.TemplateAttribute{Attribute: []kmip.Attribute{{
					AttributeName:  kmip.AttributeNameName,
					AttributeValue: kmip.Name{NameValue: name, NameType: kmip.NameTypeUninterpretedTextString},
				}}},
			})
			if err != nil {
				t.Fatalf("Locate (Template Attribute) Name=%s: %v", name, err)
			}
			got := resp.(*payloads.LocateResponsePayload).UniqueIdentifier
			if !slices.Equal(got, []string{ids[name]}) {
				t.Fatalf("Locate (Template Attribute) Name=%s = %v, want [%s]", name, got, ids[name])
			}
			if m := getSymmetric(t, c, got[0]); len(m) != 32 {
				t.Errorf("Get: %d bytes of key material, want 32", len(m))
			}
		})
	}
}
