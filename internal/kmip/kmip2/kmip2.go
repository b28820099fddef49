// Package kmip2 adds the KMIP 2.0 and 2.1 vocabulary that ovh/kmip-go
// v0.8.1 (a KMIP 1.4 codec) lacks, and translates 2.x messages to and from
// the 1.x shapes that codec decodes.
//
// The design (docs/kmip2.md): ovh's registries are extended, not forked.
// The 2.x tags are registered by name with ttlv.RegisterTag, the 2.x-only
// operations (Interop, Log) get typed payloads through
// kmip.RegisterOperationPayload, and a 2.x message is rewritten, at the level
// of generic TTLV values, into the 1.4 message that says the same thing
// (the Attributes structure becomes a Template-Attribute, an Attribute
// Reference becomes an Attribute Name, ...). The answer is rewritten back.
// The operation handlers therefore serve both protocol families with one
// code path.
package kmip2

import (
	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// KMIP 2.x tags used by the translation.
const (
	TagAttributes                    = 0x420125
	TagCommonAttributes              = 0x420126
	TagPrivateKeyAttributes          = 0x420127
	TagPublicKeyAttributes           = 0x420128
	TagShortUniqueIdentifier         = 0x420136
	TagAttributeReference            = 0x42013B
	TagCurrentAttribute              = 0x42013C
	TagNewAttribute                  = 0x42013D
	TagLogMessage                    = 0x420141
	TagProtectionStorageMask         = 0x42015E
	TagProtectionStorageMasks        = 0x42015F
	TagInteropFunction               = 0x420160
	TagInteropIdentifier             = 0x420161
	TagCommonProtectionStorageMasks  = 0x420163
	TagPrivateProtectionStorageMasks = 0x420164
	TagPublicProtectionStorageMasks  = 0x420165
)

// tags2 names every 2.x tag registered with ovh's tag registry, so that its
// XML, JSON and text encoders print them by name.
var tags2 = map[int]string{
	TagAttributes: "Attributes", TagCommonAttributes: "CommonAttributes",
	TagPrivateKeyAttributes: "PrivateKeyAttributes", TagPublicKeyAttributes: "PublicKeyAttributes",
	0x420129: "ExtensionEnumeration", 0x42012A: "ExtensionAttribute",
	0x42012B: "ExtensionParentStructureTag", 0x42012C: "ExtensionDescription",
	0x42012D: "ServerName", 0x42012E: "ServerSerialNumber", 0x42012F: "ServerVersion",
	0x420130: "ServerLoad", 0x420131: "ProductName", 0x420132: "BuildLevel",
	0x420133: "BuildDate", 0x420134: "ClusterInfo", 0x420135: "AlternateFailoverEndpoints",
	TagShortUniqueIdentifier: "ShortUniqueIdentifier", 0x420138: "Tag",
	0x420139: "CertificateRequestUniqueIdentifier", 0x42013A: "NISTKeyType",
	TagAttributeReference: "AttributeReference", TagCurrentAttribute: "CurrentAttribute",
	TagNewAttribute: "NewAttribute", 0x420140: "CertificateRequestValue",
	TagLogMessage: "LogMessage", 0x420142: "ProfileVersion", 0x420143: "ProfileVersionMajor",
	0x420144: "ProfileVersionMinor", 0x420145: "ProtectionLevel", 0x420146: "ProtectionPeriod",
	0x420147: "QuantumSafe", 0x420148: "QuantumSafeCapability", 0x420149: "Ticket",
	0x42014A: "TicketType", 0x42014B: "TicketValue", 0x42014C: "RequestCount",
	0x42014D: "Rights", 0x42014E: "Objects", 0x42014F: "Operations", 0x420150: "Right",
	0x420151: "EndpointRole", 0x420152: "DefaultsInformation", 0x420153: "ObjectDefaults",
	0x420154: "Ephemeral", 0x420155: "ServerHashedPassword", 0x420156: "OneTimePassword",
	0x420157: "HashedPassword", 0x420158: "AdjustmentType", 0x420159: "PKCS_11Interface",
	0x42015A: "PKCS_11Function", 0x42015B: "PKCS_11InputParameters",
	0x42015C: "PKCS_11OutputParameters", 0x42015D: "PKCS_11ReturnCode",
	TagProtectionStorageMask: "ProtectionStorageMask", TagProtectionStorageMasks: "ProtectionStorageMasks",
	TagInteropFunction: "InteropFunction", TagInteropIdentifier: "InteropIdentifier",
	0x420162: "AdjustmentValue", TagCommonProtectionStorageMasks: "CommonProtectionStorageMasks",
	TagPrivateProtectionStorageMasks: "PrivateProtectionStorageMasks",
	TagPublicProtectionStorageMasks:  "PublicProtectionStorageMasks",
}

// Operations added by KMIP 2.0.
const (
	OperationLog             kmip.Operation = 0x2C
	OperationAdjustAttribute kmip.Operation = 0x30
	OperationSetAttribute    kmip.Operation = 0x31
	OperationInterop         kmip.Operation = 0x34
)

// Result reasons added by KMIP 2.0 that the
// server answers to 2.x clients.
const (
	ResultReasonAttributeInstanceNotFound          kmip.ResultReason = 0x20
	ResultReasonAttributeNotFound                  kmip.ResultReason = 0x21
	ResultReasonAttributeReadOnly                  kmip.ResultReason = 0x22
	ResultReasonAttributeSingleValued              kmip.ResultReason = 0x23
	ResultReasonIncompatibleCryptographicUsageMask kmip.ResultReason = 0x29
	ResultReasonMultiValuedAttribute               kmip.ResultReason = 0x1E
	ResultReasonInvalidAttribute                   kmip.ResultReason = 0x2C
	ResultReasonNonUniqueNameAttribute             kmip.ResultReason = 0x35
	ResultReasonObjectDestroyed                    kmip.ResultReason = 0x36
	ResultReasonObjectNotFound                     kmip.ResultReason = 0x37
	ResultReasonUnsupportedAttribute               kmip.ResultReason = 0x1F
	ResultReasonUnsupportedProtocolVersion         kmip.ResultReason = 0x3F
	ResultReasonWrongKeyLifecycleState             kmip.ResultReason = 0x43
)

// InteropFunction is the Interop request's function: a test harness
// begins, ends or resets a named test case.
type InteropFunction uint32

// Interop functions.
const (
	InteropFunctionBegin InteropFunction = 1
	InteropFunctionEnd   InteropFunction = 2
	InteropFunctionReset InteropFunction = 3
)

// InteropRequestPayload is the Interop operation's request: a test harness
// marks the beginning or end of a named test case.
type InteropRequestPayload struct {
	InteropFunction   InteropFunction
	InteropIdentifier string
}

// Operation returns OperationInterop.
func (*InteropRequestPayload) Operation() kmip.Operation { return OperationInterop }

// InteropResponsePayload is the Interop operation's empty response.
type InteropResponsePayload struct{}

// Operation returns OperationInterop.
func (*InteropResponsePayload) Operation() kmip.Operation { return OperationInterop }

// LogRequestPayload is the Log operation's request: a message for the
// server's log.
type LogRequestPayload struct {
	LogMessage string
}

// Operation returns OperationLog.
func (*LogRequestPayload) Operation() kmip.Operation { return OperationLog }

// LogResponsePayload is the Log operation's empty response.
type LogResponsePayload struct{}

// Operation returns OperationLog.
func (*LogResponsePayload) Operation() kmip.Operation { return OperationLog }

// SetAttributeRequestPayload is the Set Attribute request as the server
// handles it, after translation: the 2.x New Attribute is a 1.x Attribute.
type SetAttributeRequestPayload struct {
	UniqueIdentifier string `ttlv:",omitempty"`
	Attribute        kmip.Attribute
}

// Operation returns OperationSetAttribute.
func (*SetAttributeRequestPayload) Operation() kmip.Operation { return OperationSetAttribute }

// SetAttributeResponsePayload is the Set Attribute response.
type SetAttributeResponsePayload struct {
	UniqueIdentifier string
}

// Operation returns OperationSetAttribute.
func (*SetAttributeResponsePayload) Operation() kmip.Operation { return OperationSetAttribute }

func init() {
	for tag, name := range tags2 {
		ttlv.RegisterTag(name, tag)
	}
	ttlv.RegisterEnum(TagInteropFunction, map[InteropFunction]string{
		InteropFunctionBegin: "Begin", InteropFunctionEnd: "End", InteropFunctionReset: "Reset",
	})
	// Named values of the 2.x operations, merged into ovh's Operation enum
	// (RegisterEnum adds names to a tag's existing table).
	ttlv.RegisterEnum(kmip.TagOperation, map[kmip.Operation]string{
		OperationLog: "Log", OperationAdjustAttribute: "AdjustAttribute",
		OperationSetAttribute: "SetAttribute", OperationInterop: "Interop",
	})
	ttlv.RegisterEnum(kmip.TagResultReason, map[kmip.ResultReason]string{
		ResultReasonAttributeNotFound: "AttributeNotFound", ResultReasonAttributeReadOnly: "AttributeReadOnly",
		ResultReasonAttributeInstanceNotFound:          "AttributeInstanceNotFound",
		ResultReasonAttributeSingleValued:              "AttributeSingleValued",
		ResultReasonIncompatibleCryptographicUsageMask: "IncompatibleCryptographicUsageMask",
		ResultReasonInvalidAttribute:                   "InvalidAttribute",
		ResultReasonMultiValuedAttribute:               "MultiValuedAttribute",
		ResultReasonNonUniqueNameAttribute:             "NonUniqueNameAttribute",
		ResultReasonObjectDestroyed:                    "ObjectDestroyed",
		ResultReasonObjectNotFound:                     "ObjectNotFound",
		ResultReasonUnsupportedAttribute:               "UnsupportedAttribute",
		ResultReasonUnsupportedProtocolVersion:         "UnsupportedProtocolVersion",
		ResultReasonWrongKeyLifecycleState:             "WrongKeyLifecycleState",
	})
	kmip.RegisterOperationPayload[InteropRequestPayload, InteropResponsePayload](OperationInterop)
	kmip.RegisterOperationPayload[LogRequestPayload, LogResponsePayload](OperationLog)
	kmip.RegisterOperationPayload[SetAttributeRequestPayload, SetAttributeResponsePayload](OperationSetAttribute)
}
