package kmip

import "github.com/ovh/kmip-go"

// NotOfferedOperations are the KMIP operations keywarden deliberately does
// not offer: Query does not list them and a request for one is answered
// Operation Failed / Operation Not Supported. Notify and Put are
// server-to-client messages, which keywarden never sends.
//
// It is the one list of them: the conformance runner
// (internal/conformance) records a vector's Query answer that lacks only
// these entries as a not-offered difference, and a test keeps it apart
// from what Query lists.
var NotOfferedOperations = []kmip.Operation{
	kmip.OperationNotify, kmip.OperationPut,
	kmip.OperationCreateSplitKey, kmip.OperationJoinSplitKey,
}

// NotOfferedObjectTypes are the managed object types keywarden deliberately
// does not offer, and which Query Objects therefore does not list: Split
// Key (no split-key operations), PGP Key (no PGP key formats).
var NotOfferedObjectTypes = []kmip.ObjectType{
	kmip.ObjectTypeSplitKey, kmip.ObjectTypePGPKey,
}
