package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"

	"github.com/keywarden/keywarden/internal/testenv"
)

// TestKMIPClientScenario drives a real server with ovh's kmipclient, once
// with the version negotiated by Discover Versions and once per KMIP
// version 1.0 to 1.4 enforced: create AES-256 with a Name, get it, locate
// it by name, get its attributes, register a secret data, create an
// RSA-2048 key pair and get both halves, then activate, revoke and destroy.
func TestKMIPClientScenario(t *testing.T) {
	env := testenv.Start(t)
	tests := []struct {
		name    string
		version *kmip.ProtocolVersion // nil: negotiate
	}{
		{name: "negotiated", version: nil},
		{name: "v1.0", version: &kmip.V1_0},
		{name: "v1.1", version: &kmip.V1_1},
		{name: "v1.2", version: &kmip.V1_2},
		{name: "v1.3", version: &kmip.V1_3},
		{name: "v1.4", version: &kmip.V1_4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c *kmipclient.Client
			if tc.version == nil {
				c = dialAdmin(t, env)
				if got := c.Version(); got != kmip.V1_4 {
					t.Errorf("negotiated version = %v, want 1.4", got)
				}
			} else {
				c = dialAdmin(t, env, *tc.version)
			}
			runScenario(t, c, "interop-"+tc.name)
		})
	}
}

func runScenario(t *testing.T, c *kmipclient.Client, prefix string) {
	aesName := prefix + "-aes"
	usage := kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt

	// Create AES-256 with a Name.
	created, err := c.Create().AES(256, usage).WithName(aesName).Exec()
	if err != nil {
		t.Fatalf("Create AES-256: %v", err)
	}
	aesID := created.UniqueIdentifier
	if aesID == "" || created.ObjectType != kmip.ObjectTypeSymmetricKey {
		t.Fatalf("Create AES-256: id %q, object type %v", aesID, created.ObjectType)
	}

	// Get: 32 bytes of AES key material, in the default and in Raw format.
	got, err := c.Get(aesID).Exec()
	if err != nil {
		t.Fatalf("Get %s: %v", aesID, err)
	}
	sk, ok := got.Object.(*kmip.SymmetricKey)
	if !ok || got.UniqueIdentifier != aesID || got.ObjectType != kmip.ObjectTypeSymmetricKey {
		t.Fatalf("Get %s: id %q, object %T", aesID, got.UniqueIdentifier, got.Object)
	}
	material, err := sk.KeyMaterial()
	if err != nil {
		t.Fatalf("Get %s: key material: %v", aesID, err)
	}
	if len(material) != 32 {
		t.Fatalf("Get %s: key material is %d bytes, want 32", aesID, len(material))
	}
	if bytes.Equal(material, make([]byte, 32)) {
		t.Fatalf("Get %s: key material is all zeros", aesID)
	}
	if sk.KeyBlock.CryptographicAlgorithm != kmip.CryptographicAlgorithmAES || sk.KeyBlock.CryptographicLength != 256 {
		t.Errorf("Get %s: key block algorithm %v length %d, want AES 256", aesID,
			sk.KeyBlock.CryptographicAlgorithm, sk.KeyBlock.CryptographicLength)
	}
	raw, err := c.Get(aesID).WithKeyFormat(kmip.KeyFormatTypeRaw).Exec()
	if err != nil {
		t.Errorf("Get %s as Raw: %v", aesID, err)
	} else if rk, ok := raw.Object.(*kmip.SymmetricKey); !ok {
		t.Errorf("Get %s as Raw: object %T", aesID, raw.Object)
	} else if m, err := rk.KeyMaterial(); err != nil || !bytes.Equal(m, material) {
		t.Errorf("Get %s as Raw: material differs from the default format (err %v)", aesID, err)
	}

	// Locate by name finds exactly the created key.
	loc, err := c.Locate().WithName(aesName).Exec()
	if err != nil {
		t.Fatalf("Locate Name=%q: %v", aesName, err)
	}
	if !slices.Equal(loc.UniqueIdentifier, []string{aesID}) {
		t.Errorf("Locate Name=%q = %v, want [%s]", aesName, loc.UniqueIdentifier, aesID)
	}

	// Get Attributes (all) reports what was asked for and the server's own.
	attrs, err := c.GetAttributes(aesID).Exec()
	if err != nil {
		t.Fatalf("Get Attributes %s: %v", aesID, err)
	}
	checkAttrs(t, aesID, attrs.Attribute, map[kmip.AttributeName]any{
		kmip.AttributeNameUniqueIdentifier:       aesID,
		kmip.AttributeNameObjectType:             kmip.ObjectTypeSymmetricKey,
		kmip.AttributeNameCryptographicAlgorithm: kmip.CryptographicAlgorithmAES,
		kmip.AttributeNameCryptographicLength:    int32(256),
		kmip.AttributeNameCryptographicUsageMask: usage,
		kmip.AttributeNameState:                  kmip.StatePreActive,
	})
	if !hasName(attrs.Attribute, aesName) {
		t.Errorf("Get Attributes %s: no Name %q among %v", aesID, aesName, attrValues(attrs.Attribute, kmip.AttributeNameName))
	}
	if len(attrValues(attrs.Attribute, kmip.AttributeNameInitialDate)) != 1 {
		t.Errorf("Get Attributes %s: no Initial Date", aesID)
	}

	// Register a secret data and read it back.
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	reg, err := c.Register().Secret(kmip.SecretDataTypePassword, secret).WithName(prefix + "-secret").Exec()
	if err != nil {
		t.Fatalf("Register secret data: %v", err)
	}
	secretID := reg.UniqueIdentifier
	gotSecret, err := c.Get(secretID).Exec()
	if err != nil {
		t.Fatalf("Get secret data %s: %v", secretID, err)
	}
	sd, ok := gotSecret.Object.(*kmip.SecretData)
	if !ok {
		t.Fatalf("Get secret data %s: object %T", secretID, gotSecret.Object)
	}
	if data, err := sd.Data(); err != nil || !bytes.Equal(data, secret) || sd.SecretDataType != kmip.SecretDataTypePassword {
		t.Errorf("Get secret data %s: type %v, data equal %v (err %v)", secretID, sd.SecretDataType, bytes.Equal(data, secret), err)
	}

	// Create an RSA-2048 key pair and get both halves.
	privID, pubID := createRSAPair(t, c, prefix)

	// Activate, revoke, destroy the AES key; an Active key cannot be destroyed.
	if _, err := c.Activate(aesID).Exec(); err != nil {
		t.Fatalf("Activate %s: %v", aesID, err)
	}
	if st := stateOf(t, c, aesID); st != kmip.StateActive {
		t.Errorf("after Activate: State = %v, want Active", st)
	}
	// KMIP 1.x error handling for Destroy: "object exists but cannot be destroyed" is Permission Denied.
	expectReason(t, c, c.Destroy(aesID), kmip.ResultReasonPermissionDenied)
	if _, err := c.Revoke(aesID).WithRevocationReasonCode(kmip.RevocationReasonCodeCessationOfOperation).Exec(); err != nil {
		t.Fatalf("Revoke %s: %v", aesID, err)
	}
	if st := stateOf(t, c, aesID); st != kmip.StateDeactivated {
		t.Errorf("after Revoke: State = %v, want Deactivated", st)
	}
	if _, err := c.Destroy(aesID).Exec(); err != nil {
		t.Fatalf("Destroy %s: %v", aesID, err)
	}
	if st := stateOf(t, c, aesID); st != kmip.StateDestroyed {
		t.Errorf("after Destroy: State = %v, want Destroyed", st)
	}
	if resp, err := c.Get(aesID).Exec(); err == nil {
		t.Errorf("Get of destroyed %s succeeded and returned %T", aesID, resp.Object)
	}

	// Pre-Active objects can be destroyed directly.
	for _, id := range []string{secretID, privID, pubID} {
		if _, err := c.Destroy(id).Exec(); err != nil {
			t.Errorf("Destroy %s: %v", id, err)
		}
	}
}

// createRSAPair creates an RSA-2048 key pair with names, gets both halves,
// checks that they match and are linked, and returns their ids.
func createRSAPair(t *testing.T, c *kmipclient.Client, prefix string) (privID, pubID string) {
	t.Helper()
	kp, err := c.CreateKeyPair().
		RSA(2048, kmip.CryptographicUsageSign, kmip.CryptographicUsageVerify).
		PrivateKey().WithName(prefix + "-rsa-private").
		PublicKey().WithName(prefix + "-rsa-public").
		Exec()
	if err != nil {
		t.Fatalf("Create Key Pair RSA-2048: %v", err)
	}
	privID, pubID = kp.PrivateKeyUniqueIdentifier, kp.PublicKeyUniqueIdentifier
	if privID == "" || pubID == "" || privID == pubID {
		t.Fatalf("Create Key Pair: private %q public %q", privID, pubID)
	}

	gotPriv, err := c.Get(privID).Exec()
	if err != nil {
		t.Fatalf("Get private key %s: %v", privID, err)
	}
	pk, ok := gotPriv.Object.(*kmip.PrivateKey)
	if !ok {
		t.Fatalf("Get private key %s: object %T", privID, gotPriv.Object)
	}
	priv, err := pk.RSA()
	if err != nil {
		t.Fatalf("Get private key %s: %v", privID, err)
	}
	if err := priv.Validate(); err != nil {
		t.Errorf("private key %s does not validate: %v", privID, err)
	}
	if priv.N.BitLen() != 2048 {
		t.Errorf("private key %s modulus is %d bits, want 2048", privID, priv.N.BitLen())
	}

	gotPub, err := c.Get(pubID).Exec()
	if err != nil {
		t.Fatalf("Get public key %s: %v", pubID, err)
	}
	pubk, ok := gotPub.Object.(*kmip.PublicKey)
	if !ok {
		t.Fatalf("Get public key %s: object %T", pubID, gotPub.Object)
	}
	pub, err := pubk.RSA()
	if err != nil {
		t.Fatalf("Get public key %s: %v", pubID, err)
	}
	if !pub.Equal(&priv.PublicKey) {
		t.Errorf("public key %s does not match private key %s", pubID, privID)
	}

	for _, l := range []struct{ from, to string }{{privID, pubID}, {pubID, privID}} {
		attrs, err := c.GetAttributes(l.from, kmip.AttributeNameLink).Exec()
		if err != nil {
			t.Errorf("Get Attributes Link of %s: %v", l.from, err)
			continue
		}
		if !linksTo(attrs.Attribute, l.to) {
			t.Errorf("%s has no Link to %s: %v", l.from, l.to, attrValues(attrs.Attribute, kmip.AttributeNameLink))
		}
	}
	return privID, pubID
}

func linksTo(attrs []kmip.Attribute, id string) bool {
	for _, v := range attrValues(attrs, kmip.AttributeNameLink) {
		if l, ok := v.(kmip.Link); ok && l.LinkedObjectIdentifier == id {
			return true
		}
	}
	return false
}

// checkAttrs reports every attribute in want that is missing, repeated or
// different in attrs.
func checkAttrs(t *testing.T, id string, attrs []kmip.Attribute, want map[kmip.AttributeName]any) {
	t.Helper()
	for name, w := range want {
		vs := attrValues(attrs, name)
		if len(vs) != 1 || vs[0] != w {
			t.Errorf("Get Attributes %s: %q = %v, want [%v]", id, name, vs, w)
		}
	}
}

// payloadBuilder is any kmipclient executor.
type payloadBuilder interface {
	Build() (kmip.OperationPayload, error)
}

// expectReason sends one request and checks that it fails with want.
func expectReason(t *testing.T, c *kmipclient.Client, b payloadBuilder, want kmip.ResultReason) {
	t.Helper()
	item := send(t, c, b)
	if item.ResultStatus != kmip.ResultStatusOperationFailed || item.ResultReason != want {
		t.Errorf("%v: status %v reason %v (%q), want Operation Failed / %v",
			item.Operation, item.ResultStatus, item.ResultReason, item.ResultMessage, want)
	}
}

// send sends one request and returns its batch item, whatever its status.
func send(t *testing.T, c *kmipclient.Client, b payloadBuilder) kmip.ResponseBatchItem {
	t.Helper()
	p, err := b.Build()
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.Batch(ctx, p)
	if err != nil {
		t.Fatalf("%v: %v", p.Operation(), err)
	}
	return res[0]
}
