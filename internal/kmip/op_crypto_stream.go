package kmip

import (
	"bytes"
	"context"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/keys"
)

// Multi-part (streaming) Encrypt and Decrypt, KMIP 1.4 sections 4.29 and
// 4.30. The first part carries Init Indicator true (and, as a single-part
// request would, the key, the parameters, the IV/Counter/Nonce and the
// additional authenticated data); the server answers with a Correlation
// Value, which every later part carries; the part with Final Indicator true
// ends the operation, and its answer carries no Correlation Value. A part
// with both indicators true is the whole operation. Symmetric keys (AES in
// ECB, CBC, CTR and GCM) only: RSA multi-part answers Feature Not
// Supported. Streams are bound to the caller, bounded in number and life
// (op_crypto_stream_table.go) and hold no key (op_crypto_stream_cipher.go).

// streamed reports whether an Encrypt or Decrypt request is a part of a
// multi-part operation. A lone Final Indicator is a single part.
func streamed(correlation []byte, init *bool) bool {
	return len(correlation) > 0 || isTrue(init)
}

func isTrue(b *bool) bool { return b != nil && *b }

// streamPart is one part of a multi-part Encrypt or Decrypt.
type streamPart struct {
	op          kmip.Operation
	use         cryptoUse
	uid         string
	params      *kmip.CryptographicParameters
	data, iv    []byte
	cv          []byte
	init, final bool
	aad, tag    []byte
}

// streamAnswer is what a part returns.
type streamAnswer struct {
	id            string
	data, iv, tag []byte
	cv            []byte
}

func (r *Router) encryptPart(ctx context.Context, b *batch, req *payloads.EncryptRequestPayload) (kmip.OperationPayload, error) {
	a, err := r.streamPart(ctx, b, streamPart{
		op: kmip.OperationEncrypt, use: useEncrypt, uid: req.UniqueIdentifier, params: req.CryptographicParameters,
		data: req.Data, iv: req.IVCounterNonce, cv: req.CorrelationValue,
		init: isTrue(req.InitIndicator), final: isTrue(req.FinalIndicator), aad: req.AuthenticatedEncryptionAdditionalData,
	})
	if err != nil {
		return nil, err
	}
	return &payloads.EncryptResponsePayload{UniqueIdentifier: a.id, Data: orNil(a.data), IVCounterNonce: a.iv,
		CorrelationValue: a.cv, AuthenticatedEncryptionTag: orNil(a.tag)}, nil
}

func (r *Router) decryptPart(ctx context.Context, b *batch, req *payloads.DecryptRequestPayload) (kmip.OperationPayload, error) {
	a, err := r.streamPart(ctx, b, streamPart{
		op: kmip.OperationDecrypt, use: useDecrypt, uid: req.UniqueIdentifier, params: req.CryptographicParameters,
		data: req.Data, iv: req.IVCounterNonce, cv: req.CorrelationValue,
		init: isTrue(req.InitIndicator), final: isTrue(req.FinalIndicator),
		aad: req.AuthenticatedEncryptionAdditionalData, tag: req.AuthenticatedEncryptionTag,
	})
	if err != nil {
		return nil, err
	}
	return &payloads.DecryptResponsePayload{UniqueIdentifier: a.id, Data: orNil(a.data), CorrelationValue: a.cv}, nil
}

// orNil makes empty output absent from the answer (an empty non-nil slice
// would be encoded as an empty item).
func orNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (r *Router) streamPart(ctx context.Context, b *batch, p streamPart) (streamAnswer, error) {
	if p.init {
		if len(p.cv) > 0 {
			return streamAnswer{}, errStreamInitCV
		}
		return r.openStream(ctx, b, p)
	}
	return r.continueStream(ctx, b, p)
}

// openStream runs the first part: the key and parameters are checked as
// for a single part, and the stream is registered unless the part is also
// the final one.
func (r *Router) openStream(ctx context.Context, b *batch, p streamPart) (streamAnswer, error) {
	id, err := b.id(p.uid)
	if err != nil {
		return streamAnswer{}, err
	}
	o, err := r.cryptoKey(ctx, b, id, p.use)
	if err != nil {
		return streamAnswer{}, err
	}
	if _, ok := o.Value.(*kmip.SymmetricKey); !ok {
		return streamAnswer{}, errMultiPart
	}
	params := cryptoParams(p.params, o)
	c, err := newBlockOp(o, params)
	if err != nil {
		return streamAnswer{}, err
	}
	a := streamAnswer{id: o.ID}
	iv := p.iv
	switch {
	case c.mode == kmip.BlockCipherModeECB:
		iv = nil // ECB takes no IV: one sent is not used ("where appropriate")
	case len(iv) == 0 && p.op == kmip.OperationEncrypt && isTrue(params.RandomIV):
		if iv, err = c.randomIV(params.IVLength); err != nil {
			return streamAnswer{}, err
		}
		a.iv = iv
	case len(iv) == 0:
		return streamAnswer{}, errMissingIV
	}
	st, err := newPartCipher(c, p.op == kmip.OperationDecrypt, iv, p.aad, p.tag)
	if err != nil {
		return streamAnswer{}, err
	}
	s := &cryptoStream{owner: ownerOf(b), op: p.op, keyID: o.ID, params: params, iv: bytes.Clone(iv), st: st}
	if p.final {
		a.data, a.tag, err = r.runPart(ctx, o, c, s, p, true, false)
		s.wipe()
		if err != nil {
			return streamAnswer{}, err
		}
		return a, nil
	}
	// Registered first (busy), so that a refused stream costs no usage
	// allocation.
	cv, err := r.streams.open(s)
	if err != nil {
		s.wipe()
		return streamAnswer{}, err
	}
	a.data, a.tag, err = r.runPart(ctx, o, c, s, p, true, true)
	r.streams.release(cv, s, err == nil)
	if err != nil {
		return streamAnswer{}, err
	}
	a.cv = cv
	return a, nil
}

// continueStream runs a later part of the stream its Correlation Value
// names. Any failure ends the stream.
func (r *Router) continueStream(ctx context.Context, b *batch, p streamPart) (ans streamAnswer, err error) {
	s, err := r.streams.acquire(p.cv, ownerOf(b), p.op)
	if err != nil {
		return streamAnswer{}, err
	}
	keep := false
	defer func() { r.streams.release(p.cv, s, keep) }()
	if p.uid != "" && p.uid != s.keyID {
		return streamAnswer{}, errStreamMismatch
	}
	if len(p.iv) > 0 && s.st.mode != kmip.BlockCipherModeECB && !bytes.Equal(p.iv, s.iv) {
		return streamAnswer{}, errStreamMismatch
	}
	if len(p.aad) > 0 {
		return streamAnswer{}, errStreamAAD
	}
	if len(p.tag) > 0 {
		// The specification asks for the tag on the first part; one given
		// once, later, is accepted: it is used only at the final part.
		if len(s.st.tag) > 0 && !bytes.Equal(p.tag, s.st.tag) {
			return streamAnswer{}, errStreamMismatch
		}
		s.st.tag = bytes.Clone(p.tag)
	}
	// The key is checked again, as for a single part: destroyed, revoked,
	// deactivated or out of the caller's reach, it ends the stream.
	o, err := r.cryptoKey(ctx, b, s.keyID, p.use)
	if err != nil {
		return streamAnswer{}, err
	}
	c, err := newBlockOp(o, s.params)
	if err != nil {
		return streamAnswer{}, err
	}
	if p.params != nil {
		given, err := newBlockOp(o, cryptoParams(p.params, o))
		if err != nil {
			return streamAnswer{}, err
		}
		if !sameOperation(c, given) {
			return streamAnswer{}, errStreamMismatch
		}
	}
	ans = streamAnswer{id: s.keyID}
	if ans.data, ans.tag, err = r.runPart(ctx, o, c, s, p, false, true); err != nil {
		return streamAnswer{}, err
	}
	if !p.final {
		ans.cv, keep = p.cv, true
	}
	return ans, nil
}

// runPart processes the part's data and returns its output (and, at the
// final part of a GCM encryption, the tag), once the usage allocation of an
// Encrypt is taken. The data a registered GCM stream buffers counts
// against the server's bound.
func (r *Router) runPart(ctx context.Context, o *keys.Object, c *blockOp, s *cryptoStream, p streamPart, first, registered bool) (out, tag []byte, err error) {
	if registered && c.mode == kmip.BlockCipherModeGCM && !p.final {
		if err := r.streams.hold(s, len(p.data)); err != nil {
			return nil, nil, err
		}
	}
	if p.final {
		out, tag, err = s.st.final(c.block, p.data)
	} else {
		out, err = s.st.update(c.block, p.data)
	}
	if err != nil {
		return nil, nil, err
	}
	if p.op == kmip.OperationEncrypt {
		if err := r.allocateStream(ctx, o, len(p.data), first); err != nil {
			clear(out)
			return nil, nil, err
		}
	}
	return out, tag, nil
}

// allocateStream takes the Usage Limits allocation of one part: its bytes
// when the limits count bytes, one object for the whole stream (at its
// first part) otherwise.
func (r *Router) allocateStream(ctx context.Context, o *keys.Object, n int, first bool) error {
	v, ok := o.Attr(kmip.AttributeNameUsageLimits)
	if !ok {
		return nil
	}
	if ul, _ := v.(kmip.UsageLimits); ul.UsageLimitsUnit == kmip.UsageLimitsUnitByte {
		if n == 0 {
			return nil
		}
		return r.allocate(ctx, o, n)
	}
	if first {
		return r.allocate(ctx, o, n)
	}
	return nil
}

// sameOperation reports whether two parameter sets name the same cipher
// operation (a later part may repeat the parameters, not change them).
func sameOperation(a, b *blockOp) bool {
	norm := func(p kmip.PaddingMethod) kmip.PaddingMethod {
		if p == 0 {
			return kmip.PaddingMethodNone
		}
		return p
	}
	tag := func(c *blockOp) int32 {
		if c.mode == kmip.BlockCipherModeGCM && c.tagLen == 0 {
			return 16
		}
		return c.tagLen
	}
	return a.mode == b.mode && norm(a.padding) == norm(b.padding) && tag(a) == tag(b)
}
