package kmip

import (
	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// serverProfiles2 are the KMIP 2.x server profiles keywarden claims to a
// 2.0 or 2.1 client, judged from the OASIS "KMIP Profiles Version 2.1"
// mandatory test cases (internal/conformance/testdata/v2.1): every file of
// the profile passes. KMIP 2.x names a profile without a KMIP version; the
// translation adds to each the Profile Version of the profiles document,
// 2.1 (kmip2.ProfilesVersion), for 2.0 and 2.1 clients alike: the claim is
// about the server, and 2.1 is the version it was checked at.
//
//   - Baseline Server (BL-M-1-21 to BL-M-13-21);
//   - Symmetric Key Lifecycle Server (SKLC-M-1-21 to -3-21);
//   - Asymmetric Key Lifecycle Server (AKLC-M-1-21 to -3-21);
//   - Tape Library Server (TL-M-1-21 to -3-21);
//   - Storage Array with Self Encrypting Drive Server (SASED-M-1-21 to -3-21);
//   - Opaque Managed Object Store Server (OMOS-M-1-21).
//
// Not claimed: the profiles with no 2.1 test case run here (Basic, Advanced
// and RNG Cryptographic, Symmetric Key Foundry, HTTPS, JSON and XML, Suite
// B, AES XTS, Quantum Safe, PKCS#11 Server), and Complete Server, which
// requires every profile.
var serverProfiles2 = []kmip.ProfileName{
	kmip2.ProfileNameBaselineServer,
	kmip2.ProfileNameSymmetricKeyLifecycleServer,
	kmip2.ProfileNameAsymmetricKeyLifecycleServer,
	kmip2.ProfileNameTapeLibraryServer,
	kmip2.ProfileNameStorageArrayWithSelfEncryptingDriveServer,
	kmip2.ProfileNameOpaqueManagedObjectStoreServer,
}

// profiles2 returns the Profile Information for a 2.x client, in the 1.4
// structure; the translation adds the Profile Version (kmip2/query.go).
func profiles2() []kmip.ProfileInformation {
	out := make([]kmip.ProfileInformation, 0, len(serverProfiles2))
	for _, n := range serverProfiles2 {
		out = append(out, kmip.ProfileInformation{ProfileName: n})
	}
	return out
}
