package kmip

import (
	"context"
	"crypto/fips140"
	"slices"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"
)

// VendorIdentification is what Query answers for Server Information.
const VendorIdentification = "keywarden"

// VendorIdentificationFIPS is what Query answers for Server Information
// when the process runs Go's FIPS 140-3 module.
const VendorIdentificationFIPS = "keywarden (FIPS 140-3 mode)"

// vendorIdentification reports the product and, when on, FIPS mode.
func vendorIdentification() string {
	if fips140.Enabled() {
		return VendorIdentificationFIPS
	}
	return VendorIdentification
}

// discoverVersions answers the versions this server speaks, highest first,
// restricted to those the client lists when it lists any.
func (r *Router) discoverVersions(_ context.Context, _ *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.DiscoverVersionsRequestPayload)
	resp := &payloads.DiscoverVersionsResponsePayload{}
	for _, v := range slices.Concat(Versions2, Versions) {
		if len(req.ProtocolVersion) == 0 || slices.Contains(req.ProtocolVersion, v) {
			resp.ProtocolVersion = append(resp.ProtocolVersion, v)
		}
	}
	return resp, nil
}

// objectTypes are the managed object types the server stores.
var objectTypes = []kmip.ObjectType{
	kmip.ObjectTypeSymmetricKey, kmip.ObjectTypePublicKey, kmip.ObjectTypePrivateKey,
	kmip.ObjectTypeCertificate, kmip.ObjectTypeSecretData, kmip.ObjectTypeOpaqueObject,
	kmip.ObjectTypeTemplate, kmip.ObjectTypeSplitKey, kmip.ObjectTypePGPKey,
}

func (r *Router) query(_ context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.QueryRequestPayload)
	resp := &payloads.QueryResponsePayload{}
	for _, f := range req.QueryFunction {
		switch f {
		case kmip.QueryFunctionOperations:
			resp.Operations = r.supportedOperations(b.version)
			if b.v2 != nil {
				resp.Operations = append(resp.Operations, opOrder2For(b.v2.version)...)
			}
		case kmip.QueryFunctionObjects:
			resp.ObjectType = objectTypesFor(b.version)
		case kmip.QueryFunctionServerInformation:
			resp.VendorIdentification = vendorIdentification()
			resp.ServerInformation = &ttlv.Value{Tag: kmip.TagServerInformation, Value: ttlv.Struct{}}
		case kmip.QueryFunctionRNGs:
			// crypto/rand, the operating system's generator: the same
			// value as the Random Number Generator attribute of generated
			// objects.
			resp.RNGParameters = []kmip.RNGParameters{{RNGAlgorithm: kmip.RNGAlgorithmUnspecified}}
		default:
			queryMore(b, f, resp)
		}
	}
	return resp, nil
}

// opOrder lists operations in the order Query reports them.
var opOrder = []kmip.Operation{
	kmip.OperationQuery, kmip.OperationLocate, kmip.OperationDestroy, kmip.OperationGet,
	kmip.OperationCreate, kmip.OperationCreateKeyPair, kmip.OperationRegister, kmip.OperationReKey,
	kmip.OperationDeriveKey,
	kmip.OperationCertify, kmip.OperationReCertify,
	kmip.OperationGetAttributes, kmip.OperationGetAttributeList, kmip.OperationAddAttribute,
	kmip.OperationModifyAttribute, kmip.OperationDeleteAttribute, kmip.OperationActivate,
	kmip.OperationRevoke, kmip.OperationCheck, kmip.OperationGetUsageAllocation,
	kmip.OperationObtainLease, kmip.OperationArchive, kmip.OperationRecover, kmip.OperationDiscoverVersions,
	kmip.OperationEncrypt, kmip.OperationDecrypt, kmip.OperationSign, kmip.OperationSignatureVerify,
	kmip.OperationMAC, kmip.OperationMACVerify, kmip.OperationRNGRetrieve, kmip.OperationHash,
	kmip.OperationRNGSeed, kmip.OperationPoll, kmip.OperationCancel, kmip.OperationReKeyKeyPair,
	kmip.OperationCreateSplitKey, kmip.OperationJoinSplitKey,
}

// opSince is the KMIP 1.x minor version that introduced an operation.
var opSince = map[kmip.Operation]int32{
	kmip.OperationDiscoverVersions: 1, kmip.OperationReKeyKeyPair: 1,
	// The cryptographic services came with KMIP 1.2.
	kmip.OperationEncrypt: 2, kmip.OperationDecrypt: 2, kmip.OperationSign: 2, kmip.OperationSignatureVerify: 2,
	kmip.OperationMAC: 2, kmip.OperationMACVerify: 2, kmip.OperationRNGRetrieve: 2, kmip.OperationHash: 2,
	kmip.OperationRNGSeed: 2,
	// Create Split Key and Join Split Key: KMIP 1.2 sections 4.38 and 4.39.
	kmip.OperationCreateSplitKey: 2, kmip.OperationJoinSplitKey: 2,
}

func (r *Router) supportedOperations(v kmip.ProtocolVersion) []kmip.Operation {
	var out []kmip.Operation
	for _, op := range opOrder {
		if _, ok := r.ops[op]; ok && opSince[op] <= v.ProtocolVersionMinor {
			out = append(out, op)
		}
	}
	return out
}
