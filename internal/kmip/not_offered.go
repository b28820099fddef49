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
}

// NotOfferedObjectTypes are the managed object types keywarden deliberately
// does not offer, and which Query Objects therefore does not list. Every
// object type of KMIP 1.x is offered: Split Key (Create and Join Split
// Key, Register, Get) and PGP Key (Register, Get) included.
var NotOfferedObjectTypes = []kmip.ObjectType{}
