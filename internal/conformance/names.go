package conformance

import (
	"fmt"
	"strings"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Names that ovh/kmip-go (a KMIP 1.4 library) does not register: the KMIP 2.x
// tags and enumeration values used by the 2.x vectors, and 1.x enumerations it
// leaves out. They are kept here rather than registered in ovh's global
// registry, which a server in the same process relies on.

// kmip2Tags are the tags added by KMIP 2.0 (specification section 9.1.3.1).
var kmip2Tags = map[string]int{
	"Attributes":                         0x420125,
	"CommonAttributes":                   0x420126,
	"PrivateKeyAttributes":               0x420127,
	"PublicKeyAttributes":                0x420128,
	"ExtensionEnumeration":               0x420129,
	"ExtensionAttribute":                 0x42012A,
	"ExtensionParentStructureTag":        0x42012B,
	"ExtensionDescription":               0x42012C,
	"ServerName":                         0x42012D,
	"ServerSerialNumber":                 0x42012E,
	"ServerVersion":                      0x42012F,
	"ServerLoad":                         0x420130,
	"ProductName":                        0x420131,
	"BuildLevel":                         0x420132,
	"BuildDate":                          0x420133,
	"ClusterInfo":                        0x420134,
	"AlternateFailoverEndpoints":         0x420135,
	"ShortUniqueIdentifier":              0x420136,
	"Tag":                                0x420138,
	"CertificateRequestUniqueIdentifier": 0x420139,
	"NISTKeyType":                        0x42013A,
	"AttributeReference":                 0x42013B,
	"CurrentAttribute":                   0x42013C,
	"NewAttribute":                       0x42013D,
	"CertificateRequestValue":            0x420140,
	"LogMessage":                         0x420141,
	"ProfileVersion":                     0x420142,
	"ProfileVersionMajor":                0x420143,
	"ProfileVersionMinor":                0x420144,
	"ProtectionLevel":                    0x420145,
	"ProtectionPeriod":                   0x420146,
	"QuantumSafe":                        0x420147,
	"QuantumSafeCapability":              0x420148,
	"Ticket":                             0x420149,
	"TicketType":                         0x42014A,
	"TicketValue":                        0x42014B,
	"RequestCount":                       0x42014C,
	"Rights":                             0x42014D,
	"Objects":                            0x42014E,
	"Operations":                         0x42014F,
	"Right":                              0x420150,
	"EndpointRole":                       0x420151,
	"DefaultsInformation":                0x420152,
	"ObjectDefaults":                     0x420153,
	"Ephemeral":                          0x420154,
	"ServerHashedPassword":               0x420155,
	"OneTimePassword":                    0x420156,
	"HashedPassword":                     0x420157,
	"AdjustmentType":                     0x420158,
	"PKCS_11Interface":                   0x420159,
	"PKCS_11Function":                    0x42015A,
	"PKCS_11InputParameters":             0x42015B,
	"PKCS_11OutputParameters":            0x42015C,
	"PKCS_11ReturnCode":                  0x42015D,
	"ProtectionStorageMask":              0x42015E,
	"ProtectionStorageMasks":             0x42015F,
	"InteropFunction":                    0x420160,
	"InteropIdentifier":                  0x420161,
	"AdjustmentValue":                    0x420162,
	"CommonProtectionStorageMasks":       0x420163,
	"PrivateProtectionStorageMasks":      0x420164,
	"PublicProtectionStorageMasks":       0x420165,
}

var kmip2TagNames = func() map[int]string {
	m := make(map[int]string, len(kmip2Tags))
	for n, t := range kmip2Tags {
		m[t] = n
	}
	return m
}()

// Tag constants for KMIP 2.x tags the comparator needs.
const (
	tagAttributes         = 0x420125
	tagAttributeReference = 0x42013B
	tagInteropFunction    = 0x420160
)

// enumAliases maps an enumeration tag to the tag whose names it shares.
var enumAliases = map[int]int{
	kmip.TagMaskGeneratorHashingAlgorithm: kmip.TagHashingAlgorithm,
}

// extraEnums are enumeration values ovh does not register, by tag.
var extraEnums = map[int]map[string]uint32{
	kmip.TagDerivationMethod: {
		"PBKDF2": 1, "HASH": 2, "HMAC": 3, "ENCRYPT": 4, "NIST800_108_C": 5,
		"NIST800_108_F": 6, "NIST800_108_DPI": 7, "AsymmetricKey": 8,
		"AWSSignatureVersion4": 9, "HKDF": 10,
	},
	kmip.TagOperation: {
		"Log": 0x2C, "Login": 0x2D, "Logout": 0x2E, "DelegatedLogin": 0x2F,
		"AdjustAttribute": 0x30, "SetAttribute": 0x31, "SetEndpointRole": 0x32,
		"PKCS_11": 0x33, "Interop": 0x34, "ReProvision": 0x35,
	},
	tagInteropFunction: {"Begin": 1, "End": 2, "Reset": 3},
	kmip.TagObjectType: {"CertificateRequest": 0x0A},
	kmip.TagQueryFunction: {
		"QueryDefaultsInformation": 0x0D, "QueryStorageProtectionMasks": 0x0E,
	},
	kmip.TagUniqueIdentifier: {
		"IDPlaceholder": 1, "Certify": 2, "Create": 3, "CreateKeyPair": 4,
		"CreateKeyPairPrivateKey": 5, "CreateKeyPairPublicKey": 6,
		"CreateSplitKey": 7, "DeriveKey": 8, "Import": 9, "JoinSplitKey": 10,
		"Locate": 11, "Register": 12, "ReKey": 13, "ReCertify": 14,
		"ReKeyKeyPair": 15, "ReKeyKeyPairPrivateKey": 16, "ReKeyKeyPairPublicKey": 17,
	},
	kmip.TagResultReason: {
		"InvalidTicket": 0x19, "UsageLimitExceeded": 0x1A, "NumericRange": 0x1B,
		"InvalidDataType": 0x1C, "ReadOnlyAttribute": 0x1D, "MultiValuedAttribute": 0x1E,
		"UnsupportedAttribute": 0x1F, "AttributeInstanceNotFound": 0x20,
		"AttributeNotFound": 0x21, "AttributeReadOnly": 0x22, "AttributeSingleValued": 0x23,
		"BadCryptographicParameters": 0x24, "BadPassword": 0x25, "CodecError": 0x26,
		"IllegalObjectType": 0x28, "IncompatibleCryptographicUsageMask": 0x29,
		"InternalServerError": 0x2A, "InvalidAsynchronousCorrelationValue": 0x2B,
		"InvalidAttribute": 0x2C, "InvalidAttributeValue": 0x2D,
		"InvalidCorrelationValue": 0x2E, "InvalidCSR": 0x2F, "InvalidObjectType": 0x30,
		"KeyWrapTypeNotSupported": 0x32, "MissingInitializationVector": 0x34,
		"NonUniqueNameAttribute": 0x35, "ObjectDestroyed": 0x36, "ObjectNotFound": 0x37,
		"NotAuthorised": 0x39, "ServerLimitExceeded": 0x3A, "UnknownEnumeration": 0x3B,
		"UnknownMessageExtension": 0x3C, "UnknownTag": 0x3D,
		"UnsupportedCryptographicParameters": 0x3E, "UnsupportedProtocolVersion": 0x3F,
		"WrappingObjectArchived": 0x40, "WrappingObjectDestroyed": 0x41,
		"WrappingObjectNotFound": 0x42, "WrongKeyLifecycleState": 0x43,
		"ProtectionStorageUnavailable": 0x44, "PKCS_11CodecError": 0x45,
		"PKCS_11InvalidFunction": 0x46, "PKCS_11InvalidInterface": 0x47,
	},
}

// extraMasks are mask bits ovh does not register, by tag.
var extraMasks = map[int]map[string]int32{
	kmip2Tags["ProtectionStorageMask"]: {
		"Software": 0x1, "Hardware": 0x2, "OnProcessor": 0x4, "OnSystem": 0x8,
		"OffSystem": 0x10, "Hypervisor": 0x20, "OperatingSystem": 0x40,
		"Container": 0x80, "OnPremises": 0x100, "OffPremises": 0x200,
		"SelfManaged": 0x400, "Outsourced": 0x800, "Validated": 0x1000,
		"SameJurisdiction": 0x2000,
	},
}

// lookupMaskBit resolves one mask bit name for a tag.
func lookupMaskBit(tag int, name string) (int32, bool) {
	if v, err := ttlv.BitmaskByStr(tag, name); err == nil {
		return v, true
	}
	v, ok := extraMasks[tag][name]
	return v, ok
}

// tagName returns the KMIP name of a tag, or its hex form.
func tagName(tag int) string {
	if n, ok := kmip2TagNames[tag]; ok {
		return n
	}
	return ttlv.TagString(tag)
}

// normName folds an enumeration name for a tolerant comparison
// ("PolynomialSharingGF2_8" and "PolynomialSharingGF28").
func normName(s string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "").Replace(s))
}

// lookupEnum resolves an enumeration name for a tag.
func lookupEnum(tag int, name string) (uint32, bool) {
	if alias, ok := enumAliases[tag]; ok {
		tag = alias
	}
	if v, err := ttlv.EnumByName(tag, name); err == nil {
		return v, true
	}
	if v, ok := extraEnums[tag][name]; ok {
		return v, true
	}
	want := normName(name)
	for v, n := range ttlv.EnumValuesByTag(tag) {
		if normName(n) == want {
			return v, true
		}
	}
	for n, v := range extraEnums[tag] {
		if normName(n) == want {
			return v, true
		}
	}
	return 0, false
}

// enumName returns the name of an enumeration value, or its hex form.
func enumName(tag int, v uint32) string {
	if alias, ok := enumAliases[tag]; ok {
		tag = alias
	}
	if tag == tagAttributeReference {
		return tagName(int(v))
	}
	if n := ttlv.EnumName(tag, v); n != "" {
		return n
	}
	for n, x := range extraEnums[tag] {
		if x == v {
			return n
		}
	}
	return fmt.Sprintf("0x%08X", v)
}
