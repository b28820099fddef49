package kmip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// Batch Error Continuation Option Undo (KMIP 1.2 to 1.4 section 6.7 and
// 2.x section 8: "If any operation in the request fails, then the server
// SHALL undo all the previous operations"). The items run in order, each
// under its own keys.Journal, which records every object record the item
// writes (with the record it replaced). When item k fails, the server
// restores, in one store command, every object the items 0..k wrote to its
// record before the batch and removes the objects they created; items
// 0..k-1 are then answered Operation Undone with their payloads, item k
// Operation Failed with its reason, and the items after k are not answered
// (nor run). Each undone item gets a second audit event, outcome undone.
//
// The restore requires every object to be exactly as the batch left it:
// when another client changed one meanwhile, nothing is restored (the
// other client's change is never overwritten), items 0..k-1 keep their
// Success answers, since they took effect, and item k's message says the
// batch was not undone; their audit events say so too.
//
// Only the operations of undoOps may be in an Undo batch: their only
// changes are object records written through the lifecycle core, which
// the journal records. A batch naming another supported operation (Poll
// and Cancel consume held results; an operation added later may change
// state the journal does not see) is refused before any item runs:
// every item is answered Feature Not Supported.

// undoOps are the operations an Undo batch may contain.
var undoOps = map[kmip.Operation]bool{
	// Reads: nothing to undo.
	kmip.OperationDiscoverVersions: true, kmip.OperationQuery: true, kmip.OperationGet: true,
	kmip.OperationGetAttributes: true, kmip.OperationGetAttributeList: true, kmip.OperationLocate: true,
	kmip.OperationCheck: true, kmip.OperationEncrypt: true, kmip.OperationDecrypt: true,
	kmip.OperationSign: true, kmip.OperationSignatureVerify: true, kmip.OperationMAC: true,
	kmip.OperationMACVerify: true, kmip.OperationHash: true, kmip.OperationRNGRetrieve: true,
	// RNG Seed discards its data (op_rng_seed.go); Interop and Log change
	// no managed object (v2.go).
	kmip.OperationRNGSeed: true, kmip2.OperationInterop: true, kmip2.OperationLog: true,
	kmip2.OperationPing: true,
	// Writes of object records, journaled.
	kmip.OperationCreate: true, kmip.OperationCreateKeyPair: true, kmip.OperationRegister: true,
	kmip.OperationReKey: true, kmip.OperationReKeyKeyPair: true, kmip.OperationDeriveKey: true,
	kmip.OperationCreateSplitKey: true, kmip.OperationJoinSplitKey: true,
	kmip.OperationAddAttribute: true, kmip.OperationModifyAttribute: true, kmip.OperationDeleteAttribute: true,
	kmip2.OperationSetAttribute: true, kmip2.OperationAdjustAttribute: true,
	kmip.OperationActivate: true, kmip.OperationRevoke: true, kmip.OperationDestroy: true,
	kmip.OperationArchive: true, kmip.OperationRecover: true,
	kmip.OperationObtainLease: true, kmip.OperationGetUsageAllocation: true,
	// The CA signs in memory and keeps nothing; the certificate object and
	// the key's Certificate Link are journaled writes, and an undone
	// Certify or Re-certify answers only the identifier of a certificate
	// that no longer exists, so the certificate never leaves the server.
	kmip.OperationCertify: true, kmip.OperationReCertify: true,
}

// Audit reasons of undo events.
const (
	reasonUndone     = "undone: a later item of the batch failed"
	reasonNotUndone  = "not undone: an object changed meanwhile; the item stands"
	reasonUndoFailed = "not undone: the undo failed; the item stands"
)

// runUndo runs the items of an Undo batch (see above) into resp.
func (r *Router) runUndo(ctx context.Context, b *batch, msg *kmip.RequestMessage, resp *kmip.ResponseMessage, start time.Time) *kmip.ResponseMessage {
	// An unsupported operation is no obstacle: its item fails (Operation
	// Not Supported) without changing anything.
	for _, it := range msg.BatchItem {
		if _, supported := r.ops[it.Operation]; supported && !undoOps[it.Operation] {
			e := kerr(kmip.ResultReasonFeatureNotSupported, fmt.Sprintf("batch error continuation option Undo: %s cannot be undone", OperationName(it.Operation)))
			r.log.Info("kmip: undo batch refused", "conn", b.peer.ConnID, "op", OperationName(it.Operation))
			for _, it := range msg.BatchItem {
				resp.BatchItem = append(resp.BatchItem, r.audited(ctx, b, it, failed(it, e), e, opType(it.Operation), "", start))
			}
			resp.Header.BatchCount = int32(len(resp.BatchItem))
			return resp
		}
	}
	journals := make([]*keys.Journal, 0, len(msg.BatchItem))
	placeholders := make([]string, 0, len(msg.BatchItem))
	for i, it := range msg.BatchItem {
		itemStart := start
		if i > 0 {
			itemStart = time.Now()
		}
		j := new(keys.Journal)
		journals = append(journals, j)
		placeholders = append(placeholders, b.placeholder)
		b.obj = nil
		item, cause := r.runItem(keys.WithJournal(ctx, j), b, it)
		item = r.audited(ctx, b, it, item, cause, opType(it.Operation), placeholders[i], itemStart)
		resp.BatchItem = append(resp.BatchItem, item)
		b.v2.note(cause)
		if item.ResultStatus != kmip.ResultStatusSuccess {
			r.undo(ctx, b, msg.BatchItem[:i+1], resp.BatchItem, journals, placeholders)
			break
		}
	}
	resp.Header.BatchCount = int32(len(resp.BatchItem))
	return resp
}

// undo reverses the work of the answered items (the last one failed) and
// rewrites their answers: Operation Undone for the earlier ones, or, when
// the undo was refused, a note on the failed one.
func (r *Router) undo(ctx context.Context, b *batch, items []kmip.RequestBatchItem, answers []kmip.ResponseBatchItem,
	journals []*keys.Journal, placeholders []string) {
	start := time.Now()
	k := len(items) - 1
	// The undo runs even when the client has gone or the server drains.
	err := r.m.Undo(context.WithoutCancel(ctx), journals...)
	reason, outcome := reasonUndone, audit.Undone
	if err != nil {
		r.log.Error("kmip: batch not undone", "conn", b.peer.ConnID, "failed_item", k, "err", err)
		note := "the earlier items were not undone: an object changed meanwhile"
		reason, outcome = reasonNotUndone, audit.Failure
		if !errors.Is(err, keys.ErrUndoConflict) {
			note, reason = "the earlier items could not be undone", reasonUndoFailed
		}
		if k > 0 {
			answers[k].ResultMessage += "; " + note
		}
	} else if k > 0 {
		r.log.Info("kmip: batch undone", "conn", b.peer.ConnID, "failed_item", k, "failed_op", ttlv.EnumStr(items[k].Operation), "undone_items", k)
	}
	for i := range k {
		if err == nil {
			answers[i].ResultStatus = kmip.ResultStatusOperationUndone
		}
		r.auditUndo(ctx, b, items[i], answers[i], journals[i], placeholders[i], outcome, reason, start)
	}
}

// auditUndo records what became of an earlier item of a failed Undo batch:
// undone, or left in effect. Its objects are those it acted on and those
// it wrote. The item's answer stands either way: when this event cannot be
// recorded the failure is logged and counted.
func (r *Router) auditUndo(ctx context.Context, b *batch, it kmip.RequestBatchItem, answer kmip.ResponseBatchItem,
	j *keys.Journal, placeholder string, outcome audit.Outcome, reason string, start time.Time) {
	if r.audit == nil {
		return
	}
	ev := r.event(b, OperationName(it.Operation), opType(it.Operation), start)
	ev.Objects = objectsOf(it.RequestPayload, answer.ResponsePayload, placeholder)
	for _, id := range j.Objects() {
		if len(ev.Objects) < maxAuditObjects && !slices.Contains(ev.Objects, id) {
			ev.Objects = append(ev.Objects, id)
		}
	}
	ev.Outcome, ev.Reason = outcome, reason
	if err := r.audit.Record(ctx, ev); err != nil {
		r.auditRefused(b, ev.Operation, err)
	}
}
