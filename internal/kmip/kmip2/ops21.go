package kmip2

import (
	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Adjust Attribute (KMIP 2.0 §6.1.3, unchanged in 2.1) and Ping (KMIP 2.1,
// Operation 0x3B). Re-Encrypt is not an operation of any KMIP version up
// to 3.0 (the 2.1 Operation enumeration ends with Ping).

// Tags of the Adjust Attribute request.
const (
	TagAdjustmentType  = 0x420158
	TagAdjustmentValue = 0x420162
)

// OperationPing is the KMIP 2.1 Ping operation: an empty request answered
// by an empty response.
const OperationPing kmip.Operation = 0x3B

// Result reasons of Adjust Attribute that 1.x does not define.
const (
	ResultReasonNumericRange      kmip.ResultReason = 0x1B
	ResultReasonInvalidDataType   kmip.ResultReason = 0x1C
	ResultReasonReadOnlyAttribute kmip.ResultReason = 0x1D
)

// AdjustmentType is how Adjust Attribute changes a value.
type AdjustmentType uint32

// Adjustment types.
const (
	AdjustmentTypeIncrement AdjustmentType = 1
	AdjustmentTypeDecrement AdjustmentType = 2
	AdjustmentTypeNegate    AdjustmentType = 3
)

// AdjustAttributeRequestPayload is the Adjust Attribute request as the
// server handles it, after translation: the 2.x Attribute Reference is a
// 1.x Attribute Name. The Adjustment Value keeps its TTLV type (Integer,
// Long Integer, Big Integer or Interval); Negate has none.
type AdjustAttributeRequestPayload struct {
	UniqueIdentifier string `ttlv:",omitempty"`
	AttributeName    kmip.AttributeName
	AdjustmentType   AdjustmentType `ttlv:"0x420158"`
	AdjustmentValue  *ttlv.Value    `ttlv:"0x420162,omitempty"`
}

// Operation returns OperationAdjustAttribute.
func (*AdjustAttributeRequestPayload) Operation() kmip.Operation { return OperationAdjustAttribute }

// AdjustAttributeResponsePayload is the Adjust Attribute response.
type AdjustAttributeResponsePayload struct {
	UniqueIdentifier string
}

// Operation returns OperationAdjustAttribute.
func (*AdjustAttributeResponsePayload) Operation() kmip.Operation { return OperationAdjustAttribute }

// PingRequestPayload is the Ping operation's empty request.
type PingRequestPayload struct{}

// Operation returns OperationPing.
func (*PingRequestPayload) Operation() kmip.Operation { return OperationPing }

// PingResponsePayload is the Ping operation's empty response.
type PingResponsePayload struct{}

// Operation returns OperationPing.
func (*PingResponsePayload) Operation() kmip.Operation { return OperationPing }

func init() {
	ttlv.RegisterEnum(TagAdjustmentType, map[AdjustmentType]string{
		AdjustmentTypeIncrement: "Increment", AdjustmentTypeDecrement: "Decrement", AdjustmentTypeNegate: "Negate",
	})
	ttlv.RegisterEnum(kmip.TagOperation, map[kmip.Operation]string{OperationPing: "Ping"})
	ttlv.RegisterEnum(kmip.TagResultReason, map[kmip.ResultReason]string{
		ResultReasonNumericRange: "NumericRange", ResultReasonInvalidDataType: "InvalidDataType",
		ResultReasonReadOnlyAttribute: "ReadOnlyAttribute",
	})
	kmip.RegisterOperationPayload[AdjustAttributeRequestPayload, AdjustAttributeResponsePayload](OperationAdjustAttribute)
	kmip.RegisterOperationPayload[PingRequestPayload, PingResponsePayload](OperationPing)
}
