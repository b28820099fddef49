package kmip

import (
	"context"

	"github.com/ovh/kmip-go"
)

// Hash (KMIP 1.4 section 4.38) with SHA-224 to SHA-512. ovh/kmip-go
// v0.8.1 has no payloads for it: they are declared here.

func init() {
	kmip.RegisterOperationPayload[HashRequestPayload, HashResponsePayload](kmip.OperationHash)
}

// HashRequestPayload is the request of Hash.
type HashRequestPayload struct {
	CryptographicParameters kmip.CryptographicParameters
	Data                    []byte `ttlv:",omitempty"`
	CorrelationValue        []byte `ttlv:",omitempty"`
	InitIndicator           *bool
	FinalIndicator          *bool
}

// Operation returns Hash.
func (*HashRequestPayload) Operation() kmip.Operation { return kmip.OperationHash }

// HashResponsePayload is the response of Hash.
type HashResponsePayload struct {
	Data             []byte `ttlv:",omitempty"`
	CorrelationValue []byte `ttlv:",omitempty"`
}

// Operation returns Hash.
func (*HashResponsePayload) Operation() kmip.Operation { return kmip.OperationHash }

func (r *Router) hash(_ context.Context, _ *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*HashRequestPayload)
	if err := multiPart(req.CorrelationValue, req.InitIndicator); err != nil {
		return nil, err
	}
	if req.Data == nil {
		return nil, errNoData
	}
	h, err := hashOf(req.CryptographicParameters.HashingAlgorithm, false)
	if err != nil {
		return nil, err
	}
	d := h.New()
	d.Write(req.Data)
	return &HashResponsePayload{Data: d.Sum(nil)}, nil
}
