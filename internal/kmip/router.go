package kmip

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/ovh/kmip-go"
	_ "github.com/ovh/kmip-go/payloads" // registers the operation payloads
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
	"github.com/keywarden/keywarden/internal/kmip/wire"
	"github.com/keywarden/keywarden/internal/pki"
)

// Versions this server speaks, highest first.
var Versions = []kmip.ProtocolVersion{kmip.V1_4, kmip.V1_3, kmip.V1_2, kmip.V1_1, kmip.V1_0}

// opFunc runs one batch item.
type opFunc func(ctx context.Context, b *batch, req kmip.OperationPayload) (kmip.OperationPayload, error)

// Router decodes request messages, runs their batch items against the
// lifecycle core and encodes the response.
type Router struct {
	m        *keys.Manager
	log      *slog.Logger
	limits   wire.Limits
	ops      map[kmip.Operation]opFunc
	resolver Resolver
	metrics  Metrics
	usage    UsageRecorder
	certs    CertIssuer // nil: Certify and Re-certify refused (op_certify.go)
	cache    principals
	users    userCache      // verified user credentials (credentials.go)
	audit    audit.Recorder // nil: no events
	node     string
	gate     ServeGate    // nil: every object may be served
	async    asyncResults // results held for Poll (op_async.go)
	streams  streamTable  // open multi-part Encrypt and Decrypt (op_crypto_stream.go)
	// freshGroups are the Object Groups filled on demand (op_locate_fresh.go).
	freshGroups map[string]bool
}

// NewRouter returns the KMIP router over a Manager.
func NewRouter(m *keys.Manager, logger *slog.Logger, opts ...RouterOption) *Router {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Router{m: m, log: logger, cache: principals{m: map[uint64]cachedPrincipal{}}}
	for _, o := range opts {
		o(r)
	}
	r.ops = r.operations()
	r.wrapV2()
	return r
}

// batch is the state shared by the items of one request.
type batch struct {
	version     kmip.ProtocolVersion
	placeholder string
	peer        Peer
	principal   devices.Principal
	// fingerprint and serial identify the caller in audit events.
	fingerprint string
	serial      string
	// obj is the object the current item served or created, if the
	// handler had it, for the item's audit event.
	obj *keys.Object
	// v2 is set when the client spoke KMIP 2.x (see v2.go).
	v2 *v2State
	// locatedNone: the last Locate found nothing, so the empty ID
	// placeholder names no object (Item Not Found, op_locate_none.go).
	locatedNone bool
}

// id resolves an omitted Unique Identifier to the ID placeholder.
func (b *batch) id(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if b.placeholder == "" && b.locatedNone {
		return "", errLocatedNone
	}
	if b.placeholder == "" {
		return "", errMissingID
	}
	return b.placeholder, nil
}

// HandleMessage answers one request message. It never panics.
func (r *Router) HandleMessage(ctx context.Context, peer Peer, req []byte) (resp []byte) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("kmip: panic while handling a request", "conn", peer.ConnID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			e := errGeneral
			if !r.auditMessage(ctx, peer, e, start) {
				e = errAuditUnavailable
			}
			resp = errorResponse(kmip.V1_0, nil, e)
		}
	}()
	if v, ok := kmip2.PeekVersion(req); ok && v.ProtocolVersionMajor == 2 {
		return r.handleV2(ctx, peer, req, v, start)
	}
	msg, err := r.decodeBatch(req) // decode_items.go
	if err != nil {
		r.log.Warn("kmip: rejected message", "conn", peer.ConnID, "remote", peer.RemoteAddr, "err", err)
		v := kmip.V1_0
		if msg != nil {
			v = negotiate(msg.Header.ProtocolVersion)
		}
		e := toKMIP(err)
		if !r.auditMessage(ctx, peer, e, start) {
			e = errAuditUnavailable
		}
		return errorResponse(v, nil, e)
	}
	out := r.run(ctx, peer, msg, start)
	r.finishAsync(peer, msg, out)
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.Debug("kmip: request served", "conn", peer.ConnID, "items", len(msg.BatchItem), "elapsed", time.Since(start))
	}
	return r.limitResponseSize(msg, out)
}

// decode validates, decodes, and checks that decoding lost nothing: the
// re-encoded request must have exactly the items of the original.
func (r *Router) decode(req []byte) (msg *kmip.RequestMessage, err error) {
	if _, err := wire.Validate(req, r.limits); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidMessage, err)
	}
	req = rewriteLocateTemplates(req) // FortiOS: locate_template.go
	// Transparent DSA keys, which the decoder cannot read: dsa.go.
	if req, err = rewriteDSAKeys(req); err != nil {
		return headerOnly(req), err
	}
	// The ovh decoder rewrites negative BigIntegers in place: keep the
	// original for the comparison.
	orig := bytes.Clone(req)
	msg = new(kmip.RequestMessage)
	if err := safeDecode(req, msg); err != nil {
		return partialHeader(msg), fmt.Errorf("%w: %w", errInvalidMessage, err)
	}
	again := ttlv.MarshalTTLV(msg)
	if !bytes.Equal(orig, again) {
		// Not byte-identical (e.g. another BigInteger sign extension): compare
		// item by item.
		want, err := wire.Items(orig, r.limits)
		if err != nil {
			return msg, fmt.Errorf("%w: %w", errInvalidMessage, err)
		}
		got, err := wire.Items(again, r.limits)
		if err != nil {
			return msg, fmt.Errorf("%w: re-encode: %w", errInvalidMessage, err)
		}
		if err := wire.Compare(want, got); err != nil {
			return msg, fmt.Errorf("%w: %w", errUnknownFields, err)
		}
	}
	if int(msg.Header.BatchCount) != len(msg.BatchItem) || len(msg.BatchItem) == 0 {
		return msg, fmt.Errorf("%w: batch count %d for %d items", errInvalidMessage, msg.Header.BatchCount, len(msg.BatchItem))
	}
	return msg, nil
}

// partialHeader keeps a decoded header when its version is usable.
func partialHeader(msg *kmip.RequestMessage) *kmip.RequestMessage {
	if msg.Header.ProtocolVersion.ProtocolVersionMajor == 0 {
		return nil
	}
	return msg
}

// safeDecode runs the ovh decoder, turning a panic into an error.
func safeDecode(req []byte, msg *kmip.RequestMessage) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder panic: %v", p)
		}
	}()
	return ttlv.UnmarshalTTLV(req, msg)
}

// negotiate picks the response version for a request version: the same
// version when supported, else the highest this server speaks.
func negotiate(v kmip.ProtocolVersion) kmip.ProtocolVersion {
	for _, s := range Versions {
		if s == v {
			return v
		}
	}
	return Versions[0]
}

// run executes the batch items in order, honouring the Batch Error
// Continuation Option (Stop by default; Undo: undo.go).
//
// Every answered item is audited (see WithAudit); items a stopped batch
// leaves unanswered are not.
func (r *Router) run(ctx context.Context, peer Peer, msg *kmip.RequestMessage, start time.Time) *kmip.ResponseMessage {
	return r.runAs(ctx, peer, msg, start, nil)
}

// runAs is run for a request translated from KMIP 2.x when v2 is not nil.
func (r *Router) runAs(ctx context.Context, peer Peer, msg *kmip.RequestMessage, start time.Time, v2 *v2State) *kmip.ResponseMessage {
	b := &batch{version: negotiate(msg.Header.ProtocolVersion), peer: peer, serial: deviceSerial(msg.Header), v2: v2}
	if peer.Certificate != nil {
		b.fingerprint = pki.Fingerprint(peer.Certificate)
	}
	resp := &kmip.ResponseMessage{Header: kmip.ResponseHeader{
		ProtocolVersion: b.version,
		TimeStamp:       time.Now().UTC().Truncate(time.Second),
	}}
	if !r.refuseUnaudited(ctx, b, msg, resp) {
		return resp
	}
	p, err := r.principal(ctx, peer, b.fingerprint, b.serial)
	if err == nil {
		p, err = r.narrow(ctx, peer, msg.Header, p) // request credentials (credentials.go)
	}
	if err != nil {
		ke := toKMIP(err)
		b.principal = p
		for _, it := range msg.BatchItem {
			item := r.audited(ctx, b, it, failed(it, ke), err, audit.TypeAuth, "", start)
			resp.BatchItem = append(resp.BatchItem, item)
			r.observe(it.Operation, "denied", 0)
		}
		resp.Header.BatchCount = int32(len(resp.BatchItem))
		return resp
	}
	b.principal = p
	ctx = keys.WithAccess(ctx, access(p))
	if msg.Header.ProtocolVersion.ProtocolVersionMajor != 1 {
		it := msg.BatchItem[0]
		e := kerr(kmip.ResultReasonInvalidMessage, "protocol version not supported")
		resp.BatchItem = append(resp.BatchItem, r.audited(ctx, b, it, failed(it, e), e, opType(it.Operation), "", start))
		resp.Header.BatchCount = 1
		return resp
	}
	cont := msg.Header.BatchErrorContinuationOption
	if cont == kmip.BatchErrorContinuationOptionUndo {
		return r.runUndo(ctx, b, msg, resp, start) // undo.go
	}
	for i, it := range msg.BatchItem {
		itemStart := start
		if i > 0 {
			itemStart = time.Now()
		}
		placeholder := b.placeholder
		b.obj = nil
		item, cause := r.runItem(ctx, b, it)
		item = r.audited(ctx, b, it, item, cause, opType(it.Operation), placeholder, itemStart)
		resp.BatchItem = append(resp.BatchItem, item)
		b.v2.note(cause)
		if item.ResultStatus != kmip.ResultStatusSuccess && cont != kmip.BatchErrorContinuationOptionContinue {
			break
		}
	}
	resp.Header.BatchCount = int32(len(resp.BatchItem))
	return resp
}

// runItem runs one batch item; cause is the error behind a failed item.
func (r *Router) runItem(ctx context.Context, b *batch, it kmip.RequestBatchItem) (item kmip.ResponseBatchItem, cause error) {
	if it.MessageExtension != nil && it.MessageExtension.CriticalityIndicator {
		return failed(it, errFeatureNotSupp), errFeatureNotSupp
	}
	op, ok := r.ops[it.Operation]
	if !ok {
		r.observe(it.Operation, "failed", 0)
		return failed(it, errOperationNotSupp), errOperationNotSupp
	}
	if !permitted(b.principal, it.Operation) {
		r.log.Info("kmip: operation denied", "conn", b.peer.ConnID, "op", ttlv.EnumStr(it.Operation), "principal", b.principal.Name, "kind", b.principal.Kind, "group", b.principal.Group)
		r.observe(it.Operation, "denied", 0)
		return failed(it, errOpNotAllowed), errOpNotAllowed
	}
	start := time.Now()
	payload, err := op(ctx, b, it.RequestPayload)
	if err != nil {
		ke := toKMIP(err)
		r.log.Info("kmip: operation failed", "conn", b.peer.ConnID, "op", ttlv.EnumStr(it.Operation), "reason", ttlv.EnumStr(ke.Reason), "err", err)
		r.observe(it.Operation, "failed", time.Since(start))
		return failed(it, ke), err
	}
	r.observe(it.Operation, "ok", time.Since(start))
	return kmip.ResponseBatchItem{
		Operation:         it.Operation,
		UniqueBatchItemID: it.UniqueBatchItemID,
		ResultStatus:      kmip.ResultStatusSuccess,
		ResponsePayload:   payload,
	}, nil
}

func (r *Router) observe(op kmip.Operation, outcome string, d time.Duration) {
	if r.metrics != nil {
		r.metrics.ObserveRequest("kmip", ttlv.EnumStr(op), outcome, d)
	}
}

func failed(it kmip.RequestBatchItem, e *Error) kmip.ResponseBatchItem {
	return kmip.ResponseBatchItem{
		Operation:         it.Operation,
		UniqueBatchItemID: it.UniqueBatchItemID,
		ResultStatus:      kmip.ResultStatusOperationFailed,
		ResultReason:      e.Reason,
		ResultMessage:     e.Message,
	}
}

// errorResponse is a one-item failure for a message that could not be read.
func errorResponse(v kmip.ProtocolVersion, op *kmip.Operation, e *Error) []byte {
	item := kmip.ResponseBatchItem{ResultStatus: kmip.ResultStatusOperationFailed, ResultReason: e.Reason, ResultMessage: e.Message}
	if op != nil {
		item.Operation = *op
	}
	return ttlv.MarshalTTLV(&kmip.ResponseMessage{
		Header:    kmip.ResponseHeader{ProtocolVersion: v, TimeStamp: time.Now().UTC().Truncate(time.Second), BatchCount: 1},
		BatchItem: []kmip.ResponseBatchItem{item},
	})
}
