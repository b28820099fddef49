package kmip

import (
	"context"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

// Data passed between the items of one 2.x batch (kmip2/chain.go): an item
// may take, as its Data, the output of an earlier Decrypt or Encrypt of the
// same batch, and an Ephemeral item's output is not returned. This is how
// KMIP 2.1 re-encrypts (an Ephemeral Decrypt under one key, then an Encrypt
// of its output under another): the plaintext never leaves the server.
// Each item runs through its own handler, with the access and usage checks
// of its own key, and has its own audit event. The outputs are kept in
// memory for the batch only, and wiped when it ends.

// errChainMissing answers an item whose Data is the output of an operation
// that no earlier item of the batch produced (or that failed).
var errChainMissing = kerr(kmip.ResultReasonInvalidField, "no earlier item of this batch produced the data this item takes")

// chainData wraps Encrypt and Decrypt for the data passed between items.
func (r *Router) chainData() {
	for _, op := range []kmip.Operation{kmip.OperationEncrypt, kmip.OperationDecrypt} {
		f, ok := r.ops[op]
		if !ok {
			continue
		}
		r.ops[op] = func(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
			if b.v2 == nil {
				return f(ctx, b, p)
			}
			i := len(b.v2.reasons) // the index of the item being run
			if from := b.v2.t.DataFrom(i); from != 0 {
				data, ok := b.v2.outputs[from]
				if !ok {
					return nil, errChainMissing
				}
				setRequestData(p, data)
			}
			out, err := f(ctx, b, p)
			if err != nil {
				return nil, err
			}
			if b.v2.t.Referenced(i, op) {
				b.v2.keep(op, responseData(out))
			}
			if b.v2.t.Ephemeral(i) {
				clearResponseData(out)
			}
			return out, nil
		}
	}
}

// keep holds a copy of an item's output for the later items of the batch.
func (s *v2State) keep(op kmip.Operation, data []byte) {
	if s.outputs == nil {
		s.outputs = map[kmip.Operation][]byte{}
	}
	clear(s.outputs[op])
	s.outputs[op] = append([]byte(nil), data...)
}

// wipe zeroes the outputs held for the batch.
func (s *v2State) wipe() {
	for op, data := range s.outputs {
		clear(data)
		delete(s.outputs, op)
	}
}

// setRequestData gives an Encrypt or Decrypt request its Data.
func setRequestData(p kmip.OperationPayload, data []byte) {
	switch req := p.(type) {
	case *payloads.EncryptRequestPayload:
		req.Data = data
	case *payloads.DecryptRequestPayload:
		req.Data = data
	}
}

// responseData is the Data output of an Encrypt or Decrypt response.
func responseData(p kmip.OperationPayload) []byte {
	switch resp := p.(type) {
	case *payloads.EncryptResponsePayload:
		return resp.Data
	case *payloads.DecryptResponsePayload:
		return resp.Data
	}
	return nil
}

// clearResponseData wipes and removes the Data output of a response.
func clearResponseData(p kmip.OperationPayload) {
	switch resp := p.(type) {
	case *payloads.EncryptResponsePayload:
		clear(resp.Data)
		resp.Data = nil
	case *payloads.DecryptResponsePayload:
		clear(resp.Data)
		resp.Data = nil
	}
}
