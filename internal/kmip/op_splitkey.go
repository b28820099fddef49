package kmip

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

func init() {
	kmip.RegisterOperationPayload[CreateSplitKeyRequestPayload, CreateSplitKeyResponsePayload](kmip.OperationCreateSplitKey)
	kmip.RegisterOperationPayload[JoinSplitKeyRequestPayload, JoinSplitKeyResponsePayload](kmip.OperationJoinSplitKey)
}

// CreateSplitKeyRequestPayload is the request of Create Split Key (KMIP
// 1.2 to 1.4 section 4.38), which ovh/kmip-go lacks.
type CreateSplitKeyRequestPayload struct {
	ObjectType        kmip.ObjectType
	UniqueIdentifier  string `ttlv:",omitempty"`
	SplitKeyParts     int32
	SplitKeyThreshold int32
	SplitKeyMethod    kmip.SplitKeyMethod
	PrimeFieldSize    *big.Int `ttlv:",omitempty"`
	TemplateAttribute *kmip.TemplateAttribute
}

// Operation returns Create Split Key.
func (*CreateSplitKeyRequestPayload) Operation() kmip.Operation { return kmip.OperationCreateSplitKey }

// CreateSplitKeyResponsePayload is the response of Create Split Key: the
// parts, in Key Part Identifier order.
type CreateSplitKeyResponsePayload struct {
	UniqueIdentifier []string
}

// Operation returns Create Split Key.
func (*CreateSplitKeyResponsePayload) Operation() kmip.Operation { return kmip.OperationCreateSplitKey }

// JoinSplitKeyRequestPayload is the request of Join Split Key (KMIP 1.2 to
// 1.4 section 4.39).
type JoinSplitKeyRequestPayload struct {
	ObjectType        kmip.ObjectType
	UniqueIdentifier  []string
	SecretDataType    kmip.SecretDataType `ttlv:",omitempty"`
	TemplateAttribute *kmip.TemplateAttribute
}

// Operation returns Join Split Key.
func (*JoinSplitKeyRequestPayload) Operation() kmip.Operation { return kmip.OperationJoinSplitKey }

// JoinSplitKeyResponsePayload is the response of Join Split Key.
type JoinSplitKeyResponsePayload struct {
	UniqueIdentifier string
}

// Operation returns Join Split Key.
func (*JoinSplitKeyResponsePayload) Operation() kmip.Operation { return kmip.OperationJoinSplitKey }

var (
	errSplitObjectType = kerr(kmip.ResultReasonInvalidField, "Create Split Key creates objects of type Split Key")
	errJoinFailed      = kerr(kmip.ResultReasonCryptographicFailure, "the split key parts do not recombine: fewer than the threshold")
)

// createSplitKey answers Create Split Key: the key the request names (or
// the ID placeholder; with neither, a new symmetric key from the template)
// is split into Split Key objects. The part with Key Part Identifier 1
// becomes the ID placeholder.
func (r *Router) createSplitKey(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*CreateSplitKeyRequestPayload)
	if req.ObjectType != kmip.ObjectTypeSplitKey {
		return nil, errSplitObjectType
	}
	attrs, err := r.templateAttrs(ctx, req.TemplateAttribute)
	if err != nil {
		return nil, err
	}
	base := req.UniqueIdentifier
	if base == "" {
		base = b.placeholder
	}
	parts, err := r.m.CreateSplitKey(ctx, base, keys.SplitParams{
		Parts: req.SplitKeyParts, Threshold: req.SplitKeyThreshold,
		Method: req.SplitKeyMethod, PrimeFieldSize: req.PrimeFieldSize,
	}, attrs)
	if err != nil {
		return nil, err
	}
	resp := &CreateSplitKeyResponsePayload{}
	for _, o := range parts {
		resp.UniqueIdentifier = append(resp.UniqueIdentifier, o.ID)
	}
	b.placeholder = parts[0].ID
	return resp, nil
}

// joinSplitKey answers Join Split Key: the parts combine into a new
// Symmetric Key or Secret Data, which becomes the ID placeholder. Too few
// parts is a Cryptographic Failure.
func (r *Router) joinSplitKey(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*JoinSplitKeyRequestPayload)
	ids := req.UniqueIdentifier
	if len(ids) == 0 {
		id, err := b.id("")
		if err != nil {
			return nil, err
		}
		ids = []string{id}
	}
	attrs, err := r.templateAttrs(ctx, req.TemplateAttribute)
	if err != nil {
		return nil, err
	}
	o, err := r.m.JoinSplitKey(ctx, keys.JoinRequest{Type: req.ObjectType, Parts: ids, SecretDataType: req.SecretDataType, Attrs: attrs})
	if errors.Is(err, keys.ErrSplitJoin) {
		return nil, fmt.Errorf("%w: %w", errJoinFailed, err)
	}
	if err != nil {
		return nil, err
	}
	r.recordUsage(ctx, b, kmip.OperationJoinSplitKey, o)
	b.placeholder = o.ID
	return &JoinSplitKeyResponsePayload{UniqueIdentifier: o.ID}, nil
}
