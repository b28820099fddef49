package kmip

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
	"github.com/keywarden/keywarden/internal/pki"
)

// WithAudit records one audit event per answered batch item, one per
// message that could not be decoded, on the router's single entry point
// (HandleMessage), and fails closed: a request is refused before its work
// when rec is not ready (audit.Ready), and an item's answer is replaced by
// a refusal when its event cannot be recorded (a Get then sends no key).
// node names this server in the events. Refusals are counted when the
// router's Metrics also implement AuditFailures.
func WithAudit(rec audit.Recorder, node string) RouterOption {
	return func(r *Router) { r.audit, r.node = rec, node }
}

// AuditFailures counts requests refused because the audit trail could not
// record them; admin.Metrics implements it.
type AuditFailures interface {
	AuditFailed(protocol string)
}

// errAuditUnavailable answers a request the audit trail cannot record.
var errAuditUnavailable = kerr(kmip.ResultReasonGeneralFailure, "audit trail unavailable: request refused")

// Operation names of events that are not a batch item.
const (
	auditOpMessage   = "Message"   // a message refused before dispatch
	auditOpHandshake = "Handshake" // a TLS handshake refused by the connection layer
)

// maxAuditObjects bounds the object ids one event lists (a Locate may
// answer thousands).
const maxAuditObjects = 100

// SupportedOperations lists the operations the router serves (the table
// of op_table.go), in numeric order; anything else answers Operation Not
// Supported. Tests iterate it to cover every operation.
func SupportedOperations() []kmip.Operation {
	table := (*Router)(nil).operations()
	ops := make([]kmip.Operation, 0, len(table))
	for op := range table {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// OperationName is the name of op in audit events: its name in the KMIP
// specification ("Get", "Locate"), or its number for an unknown one.
func OperationName(op kmip.Operation) string {
	if name := ttlv.EnumStr(op); name != "" {
		return name
	}
	return "Operation(0x" + strconv.FormatUint(uint64(op), 16) + ")"
}

// opType classifies a KMIP operation for Audit.event.types.
func opType(op kmip.Operation) audit.Type {
	switch op {
	case kmip.OperationCreate, kmip.OperationCreateKeyPair, kmip.OperationRegister, kmip.OperationReKey,
		kmip.OperationReKeyKeyPair, kmip.OperationGet, kmip.OperationObtainLease, kmip.OperationGetUsageAllocation,
		kmip.OperationEncrypt, kmip.OperationDecrypt, kmip.OperationSign, kmip.OperationSignatureVerify,
		kmip.OperationMAC, kmip.OperationMACVerify, kmip.OperationRNGRetrieve,
		kmip.OperationCreateSplitKey, kmip.OperationJoinSplitKey:
		return audit.TypeKey
	case kmip.OperationCertify, kmip.OperationReCertify, kmip.OperationDeriveKey:
		return audit.TypeKey
	case kmip.OperationActivate, kmip.OperationRevoke, kmip.OperationDestroy, kmip.OperationArchive,
		kmip.OperationRecover, kmip.OperationAddAttribute, kmip.OperationModifyAttribute, kmip.OperationDeleteAttribute,
		kmip2.OperationAdjustAttribute, kmip2.OperationSetAttribute:
		return audit.TypeLifecycle
	}
	return audit.TypeQuery
}

// client is the audit identity of the batch's caller.
func (b *batch) client() audit.Client {
	c := audit.Client{
		Fingerprint: b.fingerprint, Name: b.principal.Name, Role: string(b.principal.Kind),
		DeviceID: b.principal.DeviceID, Serial: b.serial,
	}
	if c.Name == "" && b.peer.Certificate != nil {
		c.Name = b.peer.Certificate.Subject.CommonName
	}
	return c
}

// event starts the event of one request or batch item.
func (r *Router) event(b *batch, op string, typ audit.Type, start time.Time) audit.Event {
	return audit.Event{
		Time: start.UTC(), Node: r.node, Type: typ, Protocol: audit.ProtoKMIP, Operation: op,
		Client: b.client(), Remote: b.peer.RemoteAddr, Outcome: audit.Success,
		Latency: time.Since(start),
	}
}

// audited records the event of one answered batch item and returns what
// to send: item unchanged, or a refusal if the event was not recorded.
// cause is the error behind a failed item; placeholder the ID placeholder
// before the item ran.
func (r *Router) audited(ctx context.Context, b *batch, it kmip.RequestBatchItem, item kmip.ResponseBatchItem,
	cause error, typ audit.Type, placeholder string, start time.Time) kmip.ResponseBatchItem {
	if r.audit == nil {
		return item
	}
	ev := r.event(b, OperationName(it.Operation), typ, start)
	ev.Objects = objectsOf(it.RequestPayload, item.ResponsePayload, placeholder)
	if item.ResultStatus != kmip.ResultStatusSuccess {
		ev.Outcome, ev.Reason = r.outcomeOf(ctx, b, cause, ev.Objects), item.ResultMessage
	}
	if b.obj != nil {
		describeObject(b.obj, &ev)
	} else if loc, ok := it.RequestPayload.(*payloads.LocateRequestPayload); ok {
		describeAttrs(loc.Attribute, &ev)
	}
	if err := r.audit.Record(ctx, ev); err != nil {
		r.auditRefused(b, ev.Operation, err)
		return failed(it, errAuditUnavailable)
	}
	return item
}

// outcomeOf tells a denial from a failure. An object of another group is
// answered Item Not Found, like a missing one; the trail records the
// denial.
func (r *Router) outcomeOf(ctx context.Context, b *batch, cause error, objects []string) audit.Outcome {
	switch {
	case errors.Is(cause, errOpNotAllowed), errors.Is(cause, errAuthRevoked), errors.Is(cause, errAuthPending),
		errors.Is(cause, errAuthRefused), errors.Is(cause, errAuthNoCert), errors.Is(cause, errAuthCredential),
		errors.Is(cause, keys.ErrNotOwner), errors.Is(cause, errGateRefused):
		return audit.Denied
	case b.principal.ReadOnly && errors.Is(cause, keys.ErrPermissionDenied):
		return audit.Denied
	case errors.Is(cause, keys.ErrNotFound) && !b.principal.AllGroups && len(objects) == 1 && r.m != nil:
		if _, err := r.m.Get(keys.WithAccess(ctx, keys.Access{AllGroups: true}), objects[0]); err == nil {
			return audit.Denied
		}
	}
	return audit.Failure
}

// auditRefused logs and counts a request refused for want of a trail.
func (r *Router) auditRefused(b *batch, op string, err error) {
	r.log.Error("kmip: audit record not written, request refused", "conn", b.peer.ConnID, "remote", b.peer.RemoteAddr, "op", op, "err", err)
	if c, ok := r.metrics.(AuditFailures); ok {
		c.AuditFailed(string(audit.ProtoKMIP))
	}
}

// refuseUnaudited answers every item of msg with the audit refusal when
// the trail is not ready, before any work; ok is false when it did.
func (r *Router) refuseUnaudited(ctx context.Context, b *batch, msg *kmip.RequestMessage, resp *kmip.ResponseMessage) bool {
	if r.audit == nil {
		return true
	}
	err := audit.Ready(r.audit)
	if err == nil {
		return true
	}
	start := time.Now()
	for _, it := range msg.BatchItem {
		resp.BatchItem = append(resp.BatchItem, failed(it, errAuditUnavailable))
		ev := r.event(b, OperationName(it.Operation), opType(it.Operation), start)
		ev.Outcome, ev.Reason = audit.Failure, errAuditUnavailable.Message
		_ = r.audit.Record(ctx, ev) // best effort: the trail said it cannot
		r.auditRefused(b, ev.Operation, err)
	}
	resp.Header.BatchCount = int32(len(resp.BatchItem))
	return false
}

// auditMessage records a message answered before dispatch (undecodable,
// refused by validation, or a handler panic) and reports whether it was
// recorded.
func (r *Router) auditMessage(ctx context.Context, peer Peer, e *Error, start time.Time) bool {
	if r.audit == nil {
		return true
	}
	b := &batch{peer: peer}
	if peer.Certificate != nil {
		b.fingerprint = pki.Fingerprint(peer.Certificate)
	}
	ev := r.event(b, auditOpMessage, audit.TypeKey, start)
	ev.Outcome, ev.Reason = audit.Failure, e.Message
	if err := r.audit.Record(ctx, ev); err != nil {
		r.auditRefused(b, ev.Operation, err)
		return false
	}
	return true
}

// auditConn records what the connection layer refuses on its own: a TLS
// handshake (an authentication failure: no, an unknown or a revoked client
// certificate) or a message that breaks the framing rules. The connection
// closes either way, so a failure to record is only logged.
func (s *Server) auditConn(ctx context.Context, tc *tls.Conn, peer Peer, op string, start time.Time) {
	if s.cfg.Audit == nil {
		return
	}
	ev := audit.Event{
		Time: start.UTC(), Node: s.cfg.Node, Type: audit.TypeAuth, Protocol: audit.ProtoKMIP, Operation: op,
		Remote: peer.RemoteAddr, Outcome: audit.Denied, Reason: "TLS handshake refused", Latency: time.Since(start),
	}
	if op == auditOpMessage {
		ev.Type, ev.Outcome, ev.Reason = audit.TypeKey, audit.Failure, errInvalidMessage.Message
	}
	cert := peer.Certificate
	if cert == nil {
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			cert = certs[0]
		}
	}
	if cert != nil {
		ev.Client = audit.Client{Fingerprint: pki.Fingerprint(cert), Name: cert.Subject.CommonName}
	}
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		s.log.Error("kmip: audit record not written", "remote", peer.RemoteAddr, "op", op, "err", err)
	}
}

// objectsOf returns the object ids an item acted on: those of its
// response when it succeeded, else the one it named (or the placeholder).
func objectsOf(req, resp kmip.OperationPayload, placeholder string) []string {
	switch p := resp.(type) {
	case nil:
	case *payloads.CreateResponsePayload:
		return []string{p.UniqueIdentifier}
	case *payloads.CreateKeyPairResponsePayload:
		return []string{p.PrivateKeyUniqueIdentifier, p.PublicKeyUniqueIdentifier}
	case *payloads.RegisterResponsePayload:
		return []string{p.UniqueIdentifier}
	case *payloads.RekeyResponsePayload:
		return []string{p.UniqueIdentifier}
	case *payloads.RekeyKeyPairResponsePayload:
		return []string{p.PrivateKeyUniqueIdentifier, p.PublicKeyUniqueIdentifier}
	case *payloads.GetResponsePayload:
		return []string{p.UniqueIdentifier}
	case *CertifyResponsePayload:
		return []string{p.UniqueIdentifier}
	case *ReCertifyResponsePayload:
		return []string{p.UniqueIdentifier}
	case *DeriveKeyResponsePayload:
		return []string{p.UniqueIdentifier}
	case *CreateSplitKeyResponsePayload:
		return append([]string(nil), p.UniqueIdentifier[:min(len(p.UniqueIdentifier), maxAuditObjects)]...)
	case *JoinSplitKeyResponsePayload:
		return []string{p.UniqueIdentifier}
	case *payloads.LocateResponsePayload:
		ids := p.UniqueIdentifier
		if len(ids) > maxAuditObjects {
			ids = ids[:maxAuditObjects]
		}
		return append([]string(nil), ids...)
	}
	if id := requestID(req); id != "" {
		return []string{id}
	}
	if placeholder != "" && requestNamesObject(req) {
		return []string{placeholder}
	}
	return nil
}

// requestNamesObject reports whether req acts on one object, named or the
// ID placeholder.
func requestNamesObject(req kmip.OperationPayload) bool {
	switch req.(type) {
	case *payloads.GetRequestPayload, *payloads.GetAttributesRequestPayload, *payloads.GetAttributeListRequestPayload,
		*payloads.AddAttributeRequestPayload, *payloads.ModifyAttributeRequestPayload, *payloads.DeleteAttributeRequestPayload,
		*payloads.ActivateRequestPayload, *payloads.RevokeRequestPayload, *payloads.DestroyRequestPayload,
		*payloads.ArchiveRequestPayload, *payloads.RecoverRequestPayload, *payloads.RekeyRequestPayload, *payloads.RekeyKeyPairRequestPayload,
		*payloads.ObtainLeaseRequestPayload, *payloads.GetUsageAllocationRequestPayload, *CheckRequestPayload,
		*payloads.EncryptRequestPayload, *payloads.DecryptRequestPayload, *payloads.SignRequestPayload,
		*payloads.SignatureVerifyRequestPayload, *kmip2.AdjustAttributeRequestPayload, *kmip2.SetAttributeRequestPayload:
		return true
	case *CertifyRequestPayload, *ReCertifyRequestPayload, *DeriveKeyRequestPayload:
		return true
	}
	return false
}

// requestID is the Unique Identifier a request names, if any.
func requestID(req kmip.OperationPayload) string {
	switch p := req.(type) {
	case *payloads.GetRequestPayload:
		return p.UniqueIdentifier
	case *payloads.GetAttributesRequestPayload:
		return p.UniqueIdentifier
	case *payloads.GetAttributeListRequestPayload:
		return p.UniqueIdentifier
	case *payloads.AddAttributeRequestPayload:
		return p.UniqueIdentifier
	case *payloads.ModifyAttributeRequestPayload:
		return p.UniqueIdentifier
	case *payloads.DeleteAttributeRequestPayload:
		return p.UniqueIdentifier
	case *payloads.ActivateRequestPayload:
		return p.UniqueIdentifier
	case *payloads.RevokeRequestPayload:
		return p.UniqueIdentifier
	case *payloads.DestroyRequestPayload:
		return p.UniqueIdentifier
	case *payloads.ArchiveRequestPayload:
		return p.UniqueIdentifier
	case *payloads.RecoverRequestPayload:
		return p.UniqueIdentifier
	case *payloads.RekeyRequestPayload:
		return p.UniqueIdentifier
	case *payloads.RekeyKeyPairRequestPayload:
		return p.PrivateKeyUniqueIdentifier
	case *CertifyRequestPayload:
		return p.UniqueIdentifier
	case *CreateSplitKeyRequestPayload:
		return p.UniqueIdentifier
	case *ReCertifyRequestPayload:
		return p.UniqueIdentifier
	case *DeriveKeyRequestPayload:
		if len(p.UniqueIdentifier) > 0 {
			return p.UniqueIdentifier[0]
		}
	case *payloads.ObtainLeaseRequestPayload:
		return p.UniqueIdentifier
	case *payloads.GetUsageAllocationRequestPayload:
		return p.UniqueIdentifier
	case *CheckRequestPayload:
		return p.UniqueIdentifier
	case *payloads.EncryptRequestPayload:
		return p.UniqueIdentifier
	case *payloads.DecryptRequestPayload:
		return p.UniqueIdentifier
	case *payloads.SignRequestPayload:
		return p.UniqueIdentifier
	case *payloads.SignatureVerifyRequestPayload:
		return p.UniqueIdentifier
	case *kmip2.AdjustAttributeRequestPayload:
		return p.UniqueIdentifier
	case *kmip2.SetAttributeRequestPayload:
		return p.UniqueIdentifier
	}
	return ""
}

// describeObject adds an object's name (label) and, for a tape library's
// key (Application Specific Information namespace LIBRARY-*), the volser
// of its cartridge barcode.
func describeObject(o *keys.Object, ev *audit.Event) {
	describeAttrs(o.Attrs, ev)
}

// describeAttrs takes the label and volser from attributes.
func describeAttrs(attrs []kmip.Attribute, ev *audit.Event) {
	tape, barcode := false, ""
	for _, a := range attrs {
		switch v := a.AttributeValue.(type) {
		case kmip.Name:
			if ev.Labels == nil && v.NameValue != "" {
				ev.Labels = []string{v.NameValue}
			}
		case kmip.ApplicationSpecificInformation:
			if strings.HasPrefix(v.ApplicationNamespace, "LIBRARY-") {
				tape = true
			}
		case kmip.AlternativeName:
			if barcode == "" {
				barcode = v.AlternativeNameValue
			}
		}
	}
	if barcode != "" && (tape || ev.Operation == "Locate") {
		ev.Volser = volserOf(barcode)
	}
}
