package kmip

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"hash"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// MAC and MAC Verify (KMIP 1.4 sections 4.33 and 4.34) with HMAC-SHA256,
// HMAC-SHA384 and HMAC-SHA512. ovh/kmip-go v0.8.1 has no payloads for
// them: they are declared here, their fields in the specification's order.

func init() {
	kmip.RegisterOperationPayload[MACRequestPayload, MACResponsePayload](kmip.OperationMAC)
	kmip.RegisterOperationPayload[MACVerifyRequestPayload, MACVerifyResponsePayload](kmip.OperationMACVerify)
}

// MACRequestPayload is the request of MAC.
type MACRequestPayload struct {
	UniqueIdentifier        string `ttlv:",omitempty"`
	CryptographicParameters *kmip.CryptographicParameters
	Data                    []byte `ttlv:",omitempty"`
	CorrelationValue        []byte `ttlv:",omitempty,version=v1.3.."`
	InitIndicator           *bool  `ttlv:",version=v1.3.."`
	FinalIndicator          *bool  `ttlv:",version=v1.3.."`
}

// Operation returns MAC.
func (*MACRequestPayload) Operation() kmip.Operation { return kmip.OperationMAC }

// MACResponsePayload is the response of MAC.
type MACResponsePayload struct {
	UniqueIdentifier string
	MACData          []byte `ttlv:",omitempty"`
	CorrelationValue []byte `ttlv:",omitempty,version=v1.3.."`
}

// Operation returns MAC.
func (*MACResponsePayload) Operation() kmip.Operation { return kmip.OperationMAC }

// MACVerifyRequestPayload is the request of MAC Verify.
type MACVerifyRequestPayload struct {
	UniqueIdentifier        string `ttlv:",omitempty"`
	CryptographicParameters *kmip.CryptographicParameters
	Data                    []byte `ttlv:",omitempty"`
	MACData                 []byte `ttlv:",omitempty"`
	CorrelationValue        []byte `ttlv:",omitempty,version=v1.3.."`
	InitIndicator           *bool  `ttlv:",version=v1.3.."`
	FinalIndicator          *bool  `ttlv:",version=v1.3.."`
}

// Operation returns MAC Verify.
func (*MACVerifyRequestPayload) Operation() kmip.Operation { return kmip.OperationMACVerify }

// MACVerifyResponsePayload is the response of MAC Verify.
type MACVerifyResponsePayload struct {
	UniqueIdentifier  string
	ValidityIndicator kmip.ValidityIndicator
	CorrelationValue  []byte `ttlv:",omitempty,version=v1.3.."`
}

// Operation returns MAC Verify.
func (*MACVerifyResponsePayload) Operation() kmip.Operation { return kmip.OperationMACVerify }

func (r *Router) mac(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*MACRequestPayload)
	o, err := r.singlePartKey(ctx, b, req.CorrelationValue, req.InitIndicator, req.UniqueIdentifier, useMAC)
	if err != nil {
		return nil, err
	}
	tag, err := r.computeMAC(ctx, o, req.CryptographicParameters, req.Data, true)
	if err != nil {
		return nil, err
	}
	return &MACResponsePayload{UniqueIdentifier: o.ID, MACData: tag}, nil
}

func (r *Router) macVerify(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*MACVerifyRequestPayload)
	o, err := r.singlePartKey(ctx, b, req.CorrelationValue, req.InitIndicator, req.UniqueIdentifier, useMACVerify)
	if err != nil {
		return nil, err
	}
	if len(req.MACData) == 0 {
		return nil, kerr(kmip.ResultReasonMissingData, "MAC data missing")
	}
	tag, err := r.computeMAC(ctx, o, req.CryptographicParameters, req.Data, false)
	if err != nil {
		return nil, err
	}
	resp := &MACVerifyResponsePayload{UniqueIdentifier: o.ID, ValidityIndicator: kmip.ValidityIndicatorInvalid}
	if hmac.Equal(tag, req.MACData) {
		resp.ValidityIndicator = kmip.ValidityIndicatorValid
	}
	return resp, nil
}

// computeMAC runs HMAC with the object's key. The algorithm is the
// parameters' Cryptographic Algorithm, else the key's own. Generating a
// MAC (not verifying one) draws on the key's Usage Limits.
func (r *Router) computeMAC(ctx context.Context, o *keys.Object, reqParams *kmip.CryptographicParameters, data []byte, generate bool) ([]byte, error) {
	if data == nil {
		return nil, errNoData
	}
	alg := cryptoParams(reqParams, o).CryptographicAlgorithm
	if alg == 0 {
		alg = algorithmOf(o)
	}
	newHash, err := hmacHash(alg)
	if err != nil {
		return nil, err
	}
	raw, err := symmetricMaterial(o)
	if err != nil {
		return nil, err
	}
	m, err := newHMAC(newHash, raw)
	if err != nil {
		return nil, err
	}
	m.Write(data)
	if generate {
		if err := r.allocate(ctx, o, len(data)); err != nil {
			return nil, err
		}
	}
	return m.Sum(nil), nil
}

// newHMAC returns HMAC with key. In FIPS 140-3 enforcement mode
// (GODEBUG=fips140=only) the standard library panics on keys shorter than
// 112 bits: that is answered as an algorithm not offered.
func newHMAC(h func() hash.Hash, key []byte) (m hash.Hash, err error) {
	defer func() {
		if recover() != nil {
			m, err = nil, errAlgorithm
		}
	}()
	return hmac.New(h, key), nil
}

func hmacHash(alg kmip.CryptographicAlgorithm) (func() hash.Hash, error) {
	switch alg {
	case kmip.CryptographicAlgorithmHMACSHA256:
		return sha256.New, nil
	case kmip.CryptographicAlgorithmHMACSHA384:
		return sha512.New384, nil
	case kmip.CryptographicAlgorithmHMACSHA512:
		return sha512.New, nil
	}
	return nil, errAlgorithm
}
