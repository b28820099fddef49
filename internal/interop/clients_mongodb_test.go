package interop

// MongoDB (libmongocrypt's KMIP provider for client-side field level
// encryption, and mongod's encryption at rest) keeps its key encryption key
// on the key server as a 96-byte Secret Data: github.com/mongodb/
// libmongocrypt pull 202 ("MONGOCRYPT-332 add KMIP requests": Register a
// 96-byte SecretData of type Seed, Activate, Get). The server side is run
// at KMIP 1.2 and at the legacy 1.0 that a useLegacyProtocol option selects
// (github.com/percona/psmdb-docs pull 1008, "Documented a new KMIP
// useLegacyProtocol parameter"; versions as in keywarden issue 6).

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/testenv"
)

func TestClientMongoDB(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	tests := []struct {
		name    string
		version kmip.ProtocolVersion
	}{
		{name: "kmip1.2", version: kmip.V1_2},
		{name: "legacy-kmip1.0", version: kmip.V1_0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialAdmin(t, env, tc.version)
			kek := make([]byte, 96)
			if _, err := rand.Read(kek); err != nil {
				t.Fatal(err)
			}
			reg, err := c.Register().Secret(kmip.SecretDataTypeSeed, kek).Exec()
			if err != nil {
				t.Fatalf("Register 96-byte Secret Data: %v", err)
			}
			id := reg.UniqueIdentifier
			if _, err := c.Activate(id).Exec(); err != nil {
				t.Fatalf("Activate %s: %v", id, err)
			}
			got, err := c.Get(id).Exec()
			if err != nil {
				t.Fatalf("Get %s: %v", id, err)
			}
			sd, ok := got.Object.(*kmip.SecretData)
			if !ok || got.ObjectType != kmip.ObjectTypeSecretData {
				t.Fatalf("Get %s: object %T, type %v; want Secret Data", id, got.Object, got.ObjectType)
			}
			if sd.SecretDataType != kmip.SecretDataTypeSeed {
				t.Errorf("Secret Data Type = %v, want Seed", sd.SecretDataType)
			}
			data, err := sd.Data()
			if err != nil {
				t.Fatalf("Get %s: secret data: %v", id, err)
			}
			if !bytes.Equal(data, kek) {
				t.Errorf("Get %s: %d bytes back, equal to the registered 96: %v", id, len(data), bytes.Equal(data, kek))
			}
			if st := stateOf(t, c, id); st != kmip.StateActive {
				t.Errorf("State = %v, want Active", st)
			}
		})
	}
}
