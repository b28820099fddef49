package kmip2

import (
	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// What a 2.x Query answer holds beyond the 1.4 one.
//
// KMIP 2.0 renumbered the Profile Name enumeration: a 2.x profile name no
// longer carries a KMIP version ("Baseline Server", "Tape Library Server",
// ...), and the Profile Information structure gained a Profile Version
// (major and minor integers) saying which version of the KMIP Profiles
// document the claim is made against. Capability Information gained a
// Quantum Safe Capability. ovh's 1.4 structures have neither field: the
// server answers a 2.x client with the 2.x profile names in the 1.4
// structures, and the translation adds the 2.x fields.

// Tags of the 2.x Query fields.
const (
	TagProfileVersion        = 0x420142
	TagProfileVersionMajor   = 0x420143
	TagProfileVersionMinor   = 0x420144
	TagQuantumSafeCapability = 0x420148
)

// KMIP 2.x Profile Name values (KMIP 2.0 and 2.1, Profile Name
// enumeration): the server profiles. The client profiles are not listed;
// a server claims none.
const (
	ProfileNameCompleteServerBasic                       kmip.ProfileName = 0x104
	ProfileNameCompleteServerTLSV1_2                     kmip.ProfileName = 0x105
	ProfileNameTapeLibraryServer                         kmip.ProfileName = 0x107
	ProfileNameSymmetricKeyLifecycleServer               kmip.ProfileName = 0x109
	ProfileNameAsymmetricKeyLifecycleServer              kmip.ProfileName = 0x10B
	ProfileNameBasicCryptographicServer                  kmip.ProfileName = 0x10D
	ProfileNameAdvancedCryptographicServer               kmip.ProfileName = 0x10F
	ProfileNameRNGCryptographicServer                    kmip.ProfileName = 0x111
	ProfileNameSymmetricKeyFoundryServer                 kmip.ProfileName = 0x115
	ProfileNameOpaqueManagedObjectStoreServer            kmip.ProfileName = 0x117
	ProfileNameSuiteBMinLOS128Server                     kmip.ProfileName = 0x119
	ProfileNameSuiteBMinLOS192Server                     kmip.ProfileName = 0x11B
	ProfileNameStorageArrayWithSelfEncryptingDriveServer kmip.ProfileName = 0x11D
	ProfileNameHTTPSServer                               kmip.ProfileName = 0x11F
	ProfileNameJSONServer                                kmip.ProfileName = 0x121
	ProfileNameXMLServer                                 kmip.ProfileName = 0x123
	ProfileNameAESXTSServer                              kmip.ProfileName = 0x125
	ProfileNameQuantumSafeServer                         kmip.ProfileName = 0x127
	ProfileNamePKCS11Server                              kmip.ProfileName = 0x129
	ProfileNameBaselineServer                            kmip.ProfileName = 0x12B
	ProfileNameCompleteServer                            kmip.ProfileName = 0x12C
)

// ProfilesVersion is the version of the KMIP Profiles document whose
// profiles the server claims to 2.x clients: 2.1, the version of the
// OASIS test cases it passes (internal/conformance/testdata/v2.1). Every
// Profile Information a 2.x client receives carries it.
var ProfilesVersion = kmip.ProtocolVersion{ProtocolVersionMajor: 2, ProtocolVersionMinor: 1}

// queryResponse adds the 2.x fields to a Query response payload: a
// Profile Version in each Profile Information, and a Quantum Safe
// Capability (false: the server offers no quantum-safe algorithm and
// keeps no Quantum Safe attribute) in each Capability Information.
func queryResponse(p ttlv.Struct) ttlv.Struct {
	for i := range p {
		s := structOf(&p[i])
		switch p[i].Tag {
		case kmip.TagProfileInformation:
			if child(s, TagProfileVersion) == nil {
				p[i].Value = append(s, ttlv.Value{Tag: TagProfileVersion, Value: ttlv.Struct{
					{Tag: TagProfileVersionMajor, Value: ProfilesVersion.ProtocolVersionMajor},
					{Tag: TagProfileVersionMinor, Value: ProfilesVersion.ProtocolVersionMinor},
				}})
			}
		case kmip.TagCapabilityInformation:
			if child(s, TagQuantumSafeCapability) == nil {
				p[i].Value = append(s, ttlv.Value{Tag: TagQuantumSafeCapability, Value: false})
			}
		}
	}
	return p
}

func init() {
	// The 2.x names, merged into ovh's Profile Name table (the 1.x values
	// end below 0x100), so that the XML and JSON encoders print them.
	ttlv.RegisterEnum(kmip.TagProfileName, map[kmip.ProfileName]string{
		ProfileNameCompleteServerBasic: "CompleteServerBasic", ProfileNameCompleteServerTLSV1_2: "CompleteServerTLSV1_2",
		ProfileNameTapeLibraryServer: "TapeLibraryServer", ProfileNameSymmetricKeyLifecycleServer: "SymmetricKeyLifecycleServer",
		ProfileNameAsymmetricKeyLifecycleServer:   "AsymmetricKeyLifecycleServer",
		ProfileNameBasicCryptographicServer:       "BasicCryptographicServer",
		ProfileNameAdvancedCryptographicServer:    "AdvancedCryptographicServer",
		ProfileNameRNGCryptographicServer:         "RNGCryptographicServer",
		ProfileNameSymmetricKeyFoundryServer:      "SymmetricKeyFoundryServer",
		ProfileNameOpaqueManagedObjectStoreServer: "OpaqueManagedObjectStoreServer",
		ProfileNameSuiteBMinLOS128Server:          "SuiteBMinLOS_128Server", ProfileNameSuiteBMinLOS192Server: "SuiteBMinLOS_192Server",
		ProfileNameStorageArrayWithSelfEncryptingDriveServer: "StorageArrayWithSelfEncryptingDriveServer",
		ProfileNameHTTPSServer:                               "HTTPSServer", ProfileNameJSONServer: "JSONServer", ProfileNameXMLServer: "XMLServer",
		ProfileNameAESXTSServer: "AESXTSServer", ProfileNameQuantumSafeServer: "QuantumSafeServer",
		ProfileNamePKCS11Server: "PKCS_11Server", ProfileNameBaselineServer: "BaselineServer",
		ProfileNameCompleteServer: "CompleteServer",
	})
}
