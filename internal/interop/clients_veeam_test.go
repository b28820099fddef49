package interop

// Veeam Backup & Replication (KMIP 1.4) protects its backup encryption keys
// with an RSA-2048 key pair held by the key server: Create Key Pair
// RSA-2048, Get of the public and of the private key, Activate, Locate, and
// Destroy when the key is retired (the sequence of keywarden issue 6).
// github.com/Cosmian/kms pull 899 (release 5.20.0, "Support Veeam Backup
// via KMIP 1.x Protocol") records Veeam's failure mode: its decoder throws
// "Unexpected Tag 66, expected Attribute" when a Get response for an
// asymmetric key carries attributes inside the Key Value, so a 1.x Get
// must return a Key Value holding the Key Material alone. The KMIP 1.x
// state machine (State attribute) has no transition from Active to
// Destroyed, so the key is revoked before it is destroyed.

import (
	"slices"
	"testing"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/testenv"
)

func TestClientVeeam(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	c := dialAdmin(t, env, kmip.V1_4)

	const name = "veeam-backup-key-2026"
	pair, err := c.CreateKeyPair().
		RSA(2048, kmip.CryptographicUsageDecrypt|kmip.CryptographicUsageUnwrapKey,
			kmip.CryptographicUsageEncrypt|kmip.CryptographicUsageWrapKey).
		PrivateKey().WithName(name).
		PublicKey().WithName(name + "-pub").
		Exec()
	if err != nil {
		t.Fatalf("Create Key Pair RSA-2048: %v", err)
	}
	privID, pubID := pair.PrivateKeyUniqueIdentifier, pair.PublicKeyUniqueIdentifier

	pubResp, err := c.Get(pubID).Exec()
	if err != nil {
		t.Fatalf("Get public key: %v", err)
	}
	pub, ok := pubResp.Object.(*kmip.PublicKey)
	if !ok {
		t.Fatalf("Get public key: object %T", pubResp.Object)
	}
	checkBareKeyValue(t, "public key", pub.KeyBlock)
	privResp, err := c.Get(privID).Exec()
	if err != nil {
		t.Fatalf("Get private key: %v", err)
	}
	priv, ok := privResp.Object.(*kmip.PrivateKey)
	if !ok {
		t.Fatalf("Get private key: object %T", privResp.Object)
	}
	checkBareKeyValue(t, "private key", priv.KeyBlock)

	rsaPub, err := pub.RSA()
	if err != nil {
		t.Fatalf("public key as RSA: %v", err)
	}
	rsaPriv, err := priv.RSA()
	if err != nil {
		t.Fatalf("private key as RSA: %v", err)
	}
	if rsaPub.N.BitLen() != 2048 || !rsaPub.Equal(&rsaPriv.PublicKey) {
		t.Errorf("key pair: modulus %d bits, halves match: %v", rsaPub.N.BitLen(), rsaPub.Equal(&rsaPriv.PublicKey))
	}

	for _, id := range []string{privID, pubID} {
		if _, err := c.Activate(id).Exec(); err != nil {
			t.Fatalf("Activate %s: %v", id, err)
		}
	}

	loc, err := c.Locate().WithName(name).
		WithAttribute(kmip.AttributeNameObjectType, kmip.ObjectTypePrivateKey).Exec()
	if err != nil {
		t.Fatalf("Locate private key by name: %v", err)
	}
	if !slices.Equal(loc.UniqueIdentifier, []string{privID}) {
		t.Errorf("Locate private key = %v, want [%s]", loc.UniqueIdentifier, privID)
	}
	loc, err = c.Locate().
		WithAttribute(kmip.AttributeNameObjectType, kmip.ObjectTypePublicKey).
		WithAttribute(kmip.AttributeNameCryptographicAlgorithm, kmip.CryptographicAlgorithmRSA).Exec()
	if err != nil {
		t.Fatalf("Locate RSA public keys: %v", err)
	}
	if !slices.Equal(loc.UniqueIdentifier, []string{pubID}) {
		t.Errorf("Locate RSA public keys = %v, want [%s]", loc.UniqueIdentifier, pubID)
	}

	for _, id := range []string{privID, pubID} {
		if _, err := c.Revoke(id).WithRevocationReasonCode(kmip.RevocationReasonCodeCessationOfOperation).Exec(); err != nil {
			t.Fatalf("Revoke %s: %v", id, err)
		}
		if _, err := c.Destroy(id).Exec(); err != nil {
			t.Fatalf("Destroy %s: %v", id, err)
		}
		if st := stateOf(t, c, id); st != kmip.StateDestroyed {
			t.Errorf("State of %s after Destroy = %v, want Destroyed", id, st)
		}
		if _, err := c.Get(id).Exec(); err == nil {
			t.Errorf("Get %s after Destroy succeeded, want a failure", id)
		}
	}
}

// checkBareKeyValue fails the test when a key block's Key Value carries
// attributes beside the key material.
func checkBareKeyValue(t *testing.T, what string, kb kmip.KeyBlock) {
	t.Helper()
	if kb.KeyValue == nil || kb.KeyValue.Plain == nil {
		t.Fatalf("%s: no plain Key Value (wrapped: %v)", what, kb.KeyValue != nil && kb.KeyValue.Wrapped != nil)
	}
	if n := len(kb.KeyValue.Plain.Attribute); n != 0 {
		t.Errorf("%s: Key Value carries %d attributes (%v), want none", what, n, attrNames(kb.KeyValue.Plain.Attribute))
	}
	if kb.CryptographicAlgorithm != kmip.CryptographicAlgorithmRSA || kb.CryptographicLength != 2048 {
		t.Errorf("%s: key block says %v %d, want RSA 2048", what, kb.CryptographicAlgorithm, kb.CryptographicLength)
	}
}
