package kmip

import (
	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

// The Query functions KMIP 1.3 added (Profiles, Capabilities, Validations,
// Client Registration Methods) and those the server has nothing to list
// for. Every answer states what the code does; where the specification
// lets a server leave a value unspecified and the code gives no firm
// answer, it says Unspecified.

// serverProfile is a KMIP 1.x server profile keywarden conforms to, at the
// KMIP minor version the profile name is for.
type serverProfile struct {
	name  kmip.ProfileName
	minor int32
}

// serverProfiles are the server profiles keywarden claims, judged from the
// OASIS vectors (docs/CONFORMANCE.md): every mandatory file of the profile
// passes at that version, or, for a version the OASIS set has no files
// for, at the versions on both sides of it (a profile's test cases are the
// same from one 1.x version to the next).
//
//   - Baseline Server, TLS v1.2 authentication suite (1.2 to 1.4; the name
//     exists from 1.2): the required TC files pass. The Basic suite is not
//     claimed: it requires TLS 1.0, and the server speaks TLS 1.2 and up.
//   - Tape Library, Symmetric and Asymmetric Key Lifecycle, Opaque Managed
//     Object Store, Storage Array with Self-Encrypting Drive, Symmetric Key
//     Foundry (1.0 to 1.4): every mandatory file passes (the foundry's
//     failing files are optional ones: SKIPJACK, two-key Triple DES).
//   - Advanced Cryptographic Server (1.4 only: at 1.3 a mandatory file signs
//     with secp256k1, which is not offered).
//   - RNG Cryptographic Server (1.3, 1.4).
//
// Not claimed: Basic Cryptographic Server (mandatory files need streaming
// Encrypt and Triple DES Encrypt, not offered); Complete Server; HTTPS,
// JSON and XML Server (their files pass but for the recording server's
// Query list, yet the KMIP-over-HTTPS listener is optional and the router
// cannot tell whether it is open); Suite B (it depends on the configured
// certificate curve and TLS cipher suites).
var serverProfiles = func() []serverProfile {
	var out []serverProfile
	add := func(minor int32, names ...kmip.ProfileName) {
		for _, n := range names {
			out = append(out, serverProfile{n, minor})
		}
	}
	add(0, kmip.ProfileNameTapeLibraryServerKMIPV1_0, kmip.ProfileNameSymmetricKeyLifecycleServerKMIPV1_0,
		kmip.ProfileNameAsymmetricKeyLifecycleServerKMIPV1_0, kmip.ProfileNameOpaqueManagedObjectStoreServerKMIPV1_0,
		kmip.ProfileNameStorageArrayWithSelfEncryptingDriveServerKMIPV1_0, kmip.ProfileNameSymmetricKeyFoundryServerKMIPV1_0)
	add(1, kmip.ProfileNameTapeLibraryServerKMIPV1_1, kmip.ProfileNameSymmetricKeyLifecycleServerKMIPV1_1,
		kmip.ProfileNameAsymmetricKeyLifecycleServerKMIPV1_1, kmip.ProfileNameOpaqueManagedObjectStoreServerKMIPV1_1,
		kmip.ProfileNameStorageArrayWithSelfEncryptingDriveServerKMIPV1_1, kmip.ProfileNameSymmetricKeyFoundryServerKMIPV1_1)
	add(2, kmip.ProfileNameBaselineServerTLSV1_2KMIPV1_2, kmip.ProfileNameTapeLibraryServerKMIPV1_2,
		kmip.ProfileNameSymmetricKeyLifecycleServerKMIPV1_2, kmip.ProfileNameAsymmetricKeyLifecycleServerKMIPV1_2,
		kmip.ProfileNameOpaqueManagedObjectStoreServerKMIPV1_2, kmip.ProfileNameStorageArrayWithSelfEncryptingDriveServerKMIPV1_2,
		kmip.ProfileNameSymmetricKeyFoundryServerKMIPV1_2)
	add(3, kmip.ProfileNameBaselineServerTLSV1_2KMIPV1_3, kmip.ProfileNameTapeLibraryServerKMIPV1_3,
		kmip.ProfileNameSymmetricKeyLifecycleServerKMIPV1_3, kmip.ProfileNameAsymmetricKeyLifecycleServerKMIPV1_3,
		kmip.ProfileNameOpaqueManagedObjectStoreServerKMIPV1_3, kmip.ProfileNameStorageArrayWithSelfEncryptingDriveServerKMIPV1_3,
		kmip.ProfileNameSymmetricKeyFoundryServerKMIPV1_3, kmip.ProfileNameRNGCryptographicServerKMIPV1_3)
	add(4, kmip.ProfileNameBaselineServerTLSV1_2KMIPV1_4, kmip.ProfileNameTapeLibraryServerKMIPV1_4,
		kmip.ProfileNameSymmetricKeyLifecycleServerKMIPV1_4, kmip.ProfileNameAsymmetricKeyLifecycleServerKMIPV1_4,
		kmip.ProfileNameOpaqueManagedObjectStoreServerKMIPV1_4, kmip.ProfileNameStorageArrayWithSelfEncryptingDriveServerKMIPV1_4,
		kmip.ProfileNameSymmetricKeyFoundryServerKMIPV1_4, kmip.ProfileNameRNGCryptographicServerKMIPV1_4,
		kmip.ProfileNameAdvancedCryptographicServerKMIPV1_4)
	return out
}()

// profiles returns the profiles for a 1.x client: those whose KMIP
// version it speaks (a 1.3 client does not know the 1.4 names). Server URI
// and Server Port are optional and left out: the profiles hold on every
// listener the server opens, and the server does not know the address its
// clients reach it by. KMIP 2.x renamed the profiles (Profile Version
// instead of a name per version): a 2.x client gets the 2.x names
// (query2.go).
func profiles(b *batch) []kmip.ProfileInformation {
	if b.v2 != nil {
		return profiles2()
	}
	var out []kmip.ProfileInformation
	for _, p := range serverProfiles {
		if p.minor <= b.version.ProtocolVersionMinor {
			out = append(out, kmip.ProfileInformation{ProfileName: p.name})
		}
	}
	return out
}

// capabilities states what the code does.
func capabilities() kmip.CapabilityInformation {
	no, yes := false, true
	return kmip.CapabilityInformation{
		// Encrypt and Decrypt stream (Init/Final Indicator, Correlation
		// Value: op_crypto_stream.go); the other cryptographic operations
		// answer a multi-part request with Feature Not Supported.
		StreamingCapability: &yes,
		// The Asynchronous Indicator is honoured: Operation Pending, then
		// Poll and Cancel (op_async.go; 2.x requests: v2async.go).
		AsynchronousCapability: &yes,
		// No Attestation Type is accepted.
		AttestationCapability: &no,
		// Batch Error Continuation Option Undo reverses the earlier items
		// of a failed batch (undo.go); Continue runs every item whatever
		// the others answer.
		BatchUndoCapability:     &yes,
		BatchContinueCapability: &yes,
		// A wrapped key block given to Register is unwrapped by the server
		// when the caller may unwrap with the wrapping key, and stored
		// sealed by the barrier like every value (op_wrap.go); the block as
		// registered is kept beside it for Get As Registered, and is all
		// the server holds when it may not unwrap (op_wrap_registered.go).
		UnwrapMode: kmip.UnwrapModeProcessed,
		// Destroy deletes the key material and keeps the object's
		// attributes (keys.Manager.Destroy).
		DestroyAction: kmip.DestroyActionKeyMaterialDeleted,
		// The deleted material is not overwritten or cryptographically
		// erased: the store drops the sealed value, the barrier key that
		// sealed it lives on.
		ShreddingAlgorithm: kmip.ShreddingAlgorithmUnsupported,
		// One generator for every client: crypto/rand.
		RNGMode: kmip.RNGModeSharedInstantiation,
	}
}

// clientRegistrationMethods: an administrator issues client certificates
// the server generates (keywarden cert issue), and a certificate a
// client made itself is accepted, or held for approval, by the default
// group's unknown-device policy (internal/devices).
var clientRegistrationMethods = []kmip.ClientRegistrationMethod{
	kmip.ClientRegistrationMethodServerPreGenerated,
	kmip.ClientRegistrationMethodClientGenerated,
}

// queryMore answers the Query functions query does not: a function the
// server has nothing to list for (Application Namespaces, Extension List
// and Map, Attestation Types, Validations: the server asserts no formal
// validation, and KMIP lets it return none) adds nothing.
func queryMore(b *batch, f kmip.QueryFunction, resp *payloads.QueryResponsePayload) {
	switch f {
	case kmip.QueryFunctionProfiles:
		resp.ProfileInformation = profiles(b)
	case kmip.QueryFunctionCapabilities:
		resp.CapabilityInformation = []kmip.CapabilityInformation{capabilities()}
	case kmip.QueryFunctionClientRegistrationMethods:
		resp.ClientRegistrationMethod = clientRegistrationMethods
	}
}
