package kmip

import (
	"context"
	"crypto/rand"

	"github.com/ovh/kmip-go"
)

// RNG Retrieve (KMIP 1.4 section 4.35): random bytes from crypto/rand.
// ovh/kmip-go v0.8.1 has no payloads for it: they are declared here.

func init() {
	kmip.RegisterOperationPayload[RNGRetrieveRequestPayload, RNGRetrieveResponsePayload](kmip.OperationRNGRetrieve)
}

// maxRNGRetrieve bounds one RNG Retrieve answer, in bytes.
const maxRNGRetrieve = 64 << 10

// RNGRetrieveRequestPayload is the request of RNG Retrieve.
type RNGRetrieveRequestPayload struct {
	DataLength int32
}

// Operation returns RNG Retrieve.
func (*RNGRetrieveRequestPayload) Operation() kmip.Operation { return kmip.OperationRNGRetrieve }

// RNGRetrieveResponsePayload is the response of RNG Retrieve.
type RNGRetrieveResponsePayload struct {
	Data []byte
}

// Operation returns RNG Retrieve.
func (*RNGRetrieveResponsePayload) Operation() kmip.Operation { return kmip.OperationRNGRetrieve }

func (r *Router) rngRetrieve(_ context.Context, _ *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*RNGRetrieveRequestPayload)
	if req.DataLength <= 0 || req.DataLength > maxRNGRetrieve {
		return nil, kerr(kmip.ResultReasonInvalidField, "data length must be between 1 and 65536 bytes")
	}
	out := make([]byte, req.DataLength)
	if _, err := rand.Read(out); err != nil {
		return nil, errCryptoFailed
	}
	return &RNGRetrieveResponsePayload{Data: out}, nil
}
