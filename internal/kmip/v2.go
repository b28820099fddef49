package kmip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
	"github.com/keywarden/keywarden/internal/kmip/wire"
)

// Versions2 are the KMIP 2.x versions this server speaks, highest first.
// A 2.x request is translated to KMIP 1.4 (package kmip2), served by the
// same handlers, and its answer translated back.
var Versions2 = []kmip.ProtocolVersion{kmip.V2_1, kmip.V2_0}

// v2State is the part of a batch that only 2.x requests have.
type v2State struct {
	// version is the 2.x version the client spoke.
	version kmip.ProtocolVersion
	// reasons are the 2.x Result Reasons of the items run, by index (zero:
	// keep the 1.x reason).
	reasons []kmip.ResultReason
	// t is the request's translation (Current Attributes, by item).
	t *kmip2.Translation
	// outputs are the Data outputs later items of the batch take, by
	// operation (v2chain.go).
	outputs map[kmip.Operation][]byte
}

// current returns the Current Attribute of the item being run.
func (s *v2State) current() (kmip.AttributeName, ttlv.Value, bool) {
	if s == nil {
		return "", ttlv.Value{}, false
	}
	return s.t.Current(len(s.reasons))
}

// note records the 2.x reason of the item just run.
func (s *v2State) note(cause error) {
	if s != nil {
		s.reasons = append(s.reasons, reason2(cause))
	}
}

// reasons2 maps the core's sentinels to the finer 2.x Result Reasons.
var reasons2 = []struct {
	err    error
	reason kmip.ResultReason
}{
	{errDestroyed, kmip2.ResultReasonObjectDestroyed},
	{keys.ErrNotFound, kmip2.ResultReasonObjectNotFound},
	{keys.ErrWrongState, kmip2.ResultReasonWrongKeyLifecycleState},
	{keys.ErrAttributeReadOnly, kmip2.ResultReasonAttributeReadOnly},
	{keys.ErrAttributeSingleValued, kmip2.ResultReasonAttributeSingleValued},
	{keys.ErrAttributeNotFound, kmip2.ResultReasonAttributeNotFound},
	{kmip2.ErrUnsupportedAttribute, kmip2.ResultReasonUnsupportedAttribute},
}

// reason2 is the 2.x Result Reason of a failure, or zero to keep the 1.x
// reason (the codes 1.x defines are the same in 2.x).
func reason2(cause error) kmip.ResultReason {
	if cause == nil {
		return 0
	}
	for _, r := range reasons2 {
		if errors.Is(cause, r.err) {
			return r.reason
		}
	}
	return 0
}

// handleV2 answers a request whose header carries a 2.x version.
func (r *Router) handleV2(ctx context.Context, peer Peer, req []byte, v kmip.ProtocolVersion, start time.Time) []byte {
	answer := kmip.V2_1
	if slices.Contains(Versions2, v) {
		answer = v
	}
	fail := func(e *Error, t *kmip2.Translation) []byte {
		if !r.auditMessage(ctx, peer, e, start) {
			e = errAuditUnavailable
		}
		return r.respond2(errorResponse(kmip.V1_4, nil, e), t, answer, nil)
	}
	if answer != v {
		r.log.Warn("kmip: unsupported 2.x protocol version", "conn", peer.ConnID, "major", v.ProtocolVersionMajor, "minor", v.ProtocolVersionMinor)
		return fail(kerr(kmip2.ResultReasonUnsupportedProtocolVersion, "protocol version not supported"), nil)
	}
	if _, err := wire.Validate(req, r.limits); err != nil {
		r.log.Warn("kmip: rejected message", "conn", peer.ConnID, "remote", peer.RemoteAddr, "err", err)
		return fail(errInvalidMessage, nil)
	}
	v1, t, err := kmip2.Request(req)
	if err != nil {
		r.log.Warn("kmip: untranslatable 2.x message", "conn", peer.ConnID, "remote", peer.RemoteAddr, "err", err)
		return fail(translationError(err), nil)
	}
	msg, err := r.decodeBatch(v1) // decode_items.go
	if err != nil {
		r.log.Warn("kmip: rejected message", "conn", peer.ConnID, "remote", peer.RemoteAddr, "err", err)
		return fail(toKMIP(err), nil)
	}
	markUntranslated(msg, t)
	st := &v2State{version: v, t: t}
	defer st.wipe()
	out := r.runAs(ctx, peer, msg, start, st)
	r.finishAsyncAs(peer, msg, out, st) // v2async.go
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.Debug("kmip: 2.x request served", "conn", peer.ConnID, "items", len(msg.BatchItem), "elapsed", time.Since(start))
	}
	// Maximum Response Size is checked on the 1.4 form (respsize.go); the
	// 2.x form differs by a few bytes per translated attribute.
	return r.respond2(r.limitResponseSize(msg, out), t, v, st.reasons)
}

// respond2 translates a 1.4 answer to the client's 2.x version; if that
// fails (it cannot for answers this server encodes), a General Failure.
func (r *Router) respond2(resp []byte, t *kmip2.Translation, v kmip.ProtocolVersion, reasons []kmip.ResultReason) []byte {
	out, err := kmip2.Response(resp, t, v, reasons)
	if err != nil {
		r.log.Error("kmip: 2.x response translation failed", "err", err)
		out, err = kmip2.Response(errorResponse(kmip.V1_4, nil, errGeneral), nil, v, nil)
		if err != nil {
			return errorResponse(v, nil, errGeneral)
		}
	}
	return out
}

// translationError maps a translation failure to what the client sees.
func translationError(err error) *Error {
	switch {
	case errors.Is(err, kmip2.ErrUnsupportedAttribute):
		return kerr(kmip2.ResultReasonUnsupportedAttribute, "attribute not supported")
	case errors.Is(err, kmip2.ErrReadOnly):
		return kerr(kmip2.ResultReasonAttributeReadOnly, "attribute is derived by the server")
	case errors.Is(err, kmip2.ErrNotSupported):
		return errFeatureNotSupp
	}
	return errInvalidMessage
}

// interop acknowledges the Interop operation (KMIP 2.x only), which test
// harnesses send around each test case; it changes nothing.
func (r *Router) interop(_ context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req, ok := p.(*kmip2.InteropRequestPayload)
	if b.v2 == nil || !ok {
		return nil, errOperationNotSupp
	}
	switch req.InteropFunction {
	case kmip2.InteropFunctionBegin, kmip2.InteropFunctionEnd, kmip2.InteropFunctionReset:
	default:
		return nil, kerr(kmip.ResultReasonInvalidField, "unknown interop function")
	}
	r.log.Info("kmip: interop", "conn", b.peer.ConnID, "function", ttlv.EnumStr(req.InteropFunction), "id", req.InteropIdentifier)
	return &kmip2.InteropResponsePayload{}, nil
}

// maxLogMessage bounds what a client may write to the server's log.
const maxLogMessage = 1024

// logOp writes a client's Log message (KMIP 2.x only) to the server log,
// quoted and truncated.
func (r *Router) logOp(_ context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req, ok := p.(*kmip2.LogRequestPayload)
	if b.v2 == nil || !ok {
		return nil, errOperationNotSupp
	}
	msg := req.LogMessage
	if len(msg) > maxLogMessage {
		msg = msg[:maxLogMessage]
	}
	r.log.Info("kmip: client log message", "conn", b.peer.ConnID, "principal", b.principal.Name, "message", fmt.Sprintf("%q", msg))
	return &kmip2.LogResponsePayload{}, nil
}

// operations2 are the operations only 2.x clients may call.
func (r *Router) operations2() map[kmip.Operation]opFunc {
	return map[kmip.Operation]opFunc{
		kmip2.OperationInterop:         r.interop,
		kmip2.OperationLog:             r.logOp,
		kmip2.OperationSetAttribute:    r.setAttribute,
		kmip2.OperationAdjustAttribute: r.adjustAttribute,
		kmip2.OperationPing:            r.ping,
	}
}

// opOrder2 lists the 2.x-only operations in the order Query reports them.
var opOrder2 = []kmip.Operation{
	kmip2.OperationLog, kmip2.OperationAdjustAttribute, kmip2.OperationSetAttribute, kmip2.OperationInterop,
}

// opOrder2For lists the 2.x-only operations of version v (Ping came with
// 2.1) in the order Query reports them.
func opOrder2For(v kmip.ProtocolVersion) []kmip.Operation {
	if v.ProtocolVersionMajor == 2 && v.ProtocolVersionMinor >= 1 {
		return append(slices.Clone(opOrder2), kmip2.OperationPing)
	}
	return opOrder2
}

// ping answers the KMIP 2.1 Ping operation: nothing in, nothing out.
func (r *Router) ping(_ context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	if _, ok := p.(*kmip2.PingRequestPayload); !ok || b.v2 == nil || b.v2.version.ProtocolVersionMinor < 1 {
		return nil, errOperationNotSupp
	}
	return &kmip2.PingResponsePayload{}, nil
}
