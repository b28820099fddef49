package interop

// Synology DSM (KMIP 1.x) sends Operation Policy Name (KMIP 1.0 §3.18,
// deprecated in 1.3) in its Create and Register templates and later asks
// for it back by name with Get Attributes; it gives up on the key server
// when the attribute is dropped. Source: github.com/Cosmian/kms pull 830
// (release 5.18.0, "OperationPolicyName round-trip preservation (issue
// #796): KMIP 1.x clients (e.g. Synology DSM 7.2.2) include the
// OperationPolicyName attribute in Register/Create requests ... a
// subsequent GetAttributes request for Operation Policy Name from the same
// KMIP 1 client" must return it).

import (
	"crypto/rand"
	"testing"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/testenv"
)

func TestClientSynology(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	usage := kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt
	tests := []struct {
		name    string
		version kmip.ProtocolVersion
		secret  bool // Register a secret data instead of creating a key
	}{
		{name: "create-kmip1.2", version: kmip.V1_2},
		{name: "register-kmip1.2", version: kmip.V1_2, secret: true},
		{name: "create-kmip1.0", version: kmip.V1_0},
		{name: "register-kmip1.1", version: kmip.V1_1, secret: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialAdmin(t, env, tc.version)
			var id string
			if tc.secret {
				v := make([]byte, 32)
				_, _ = rand.Read(v)
				resp, err := c.Register().Secret(kmip.SecretDataTypePassword, v).
					WithName("synology-vault-"+tc.name).
					WithAttribute(kmip.AttributeNameOperationPolicyName, "default").Exec()
				if err != nil {
					t.Fatalf("Register with Operation Policy Name: %v", err)
				}
				id = resp.UniqueIdentifier
			} else {
				resp, err := c.Create().AES(256, usage).
					WithName("synology-vault-"+tc.name).
					WithAttribute(kmip.AttributeNameOperationPolicyName, "default").Exec()
				if err != nil {
					t.Fatalf("Create with Operation Policy Name: %v", err)
				}
				id = resp.UniqueIdentifier
			}
			if _, err := c.Activate(id).Exec(); err != nil {
				t.Fatalf("Activate: %v", err)
			}
			attrs, err := c.GetAttributes(id, kmip.AttributeNameOperationPolicyName).Exec()
			if err != nil {
				t.Fatalf("Get Attributes Operation Policy Name: %v", err)
			}
			if got := oneAttr(t, attrs.Attribute, kmip.AttributeNameOperationPolicyName); got != "default" {
				t.Errorf("Operation Policy Name = %#v, want \"default\"", got)
			}
			all, err := c.GetAttributes(id).Exec()
			if err != nil {
				t.Fatalf("Get Attributes (all): %v", err)
			}
			if got := attrValues(all.Attribute, kmip.AttributeNameOperationPolicyName); len(got) != 1 || got[0] != "default" {
				t.Errorf("Get Attributes (all): Operation Policy Name = %v, want [default]", got)
			}
		})
	}
}
