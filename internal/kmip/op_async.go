package kmip

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/pki"
)

// Asynchronous operations (KMIP 1.x section 6.7, Asynchronous Indicator;
// sections 4.25 Cancel and 4.26 Poll). keywarden runs every request at
// once, but a client that sets the Asynchronous Indicator receives, for
// each batch item, Operation Pending and an Asynchronous Correlation
// Value; Poll with that value returns the item's result (which the
// specification lets the server complete at any time), once. The results
// are held in memory only, for asyncTTL, at most asyncMax of them, and only
// the client certificate that made the request may poll them. ovh/kmip-go
// v0.8.1 has no Poll or Cancel payloads: they are declared here.

func init() {
	kmip.RegisterOperationPayload[PollRequestPayload, PollResponsePayload](kmip.OperationPoll)
	kmip.RegisterOperationPayload[CancelRequestPayload, CancelResponsePayload](kmip.OperationCancel)
}

// Bounds of the held asynchronous results.
const (
	asyncTTL = 10 * time.Minute
	asyncMax = 4096
)

// PollRequestPayload is the request of Poll.
type PollRequestPayload struct {
	AsynchronousCorrelationValue []byte
}

// Operation returns Poll.
func (*PollRequestPayload) Operation() kmip.Operation { return kmip.OperationPoll }

// PollResponsePayload is the response of Poll as a handler returns it: the
// router replaces the whole batch item by the polled one (its operation,
// status and payload) before the response is encoded.
type PollResponsePayload struct {
	result *kmip.ResponseBatchItem
	// v2 is what answering the result in KMIP 2.x needs, when a 2.x
	// request made it (v2async.go).
	v2 *held2
}

// Operation returns Poll.
func (*PollResponsePayload) Operation() kmip.Operation { return kmip.OperationPoll }

// CancelRequestPayload is the request of Cancel.
type CancelRequestPayload struct {
	AsynchronousCorrelationValue []byte
}

// Operation returns Cancel.
func (*CancelRequestPayload) Operation() kmip.Operation { return kmip.OperationCancel }

// CancelResponsePayload is the response of Cancel.
type CancelResponsePayload struct {
	AsynchronousCorrelationValue []byte
	CancellationResult           kmip.CancellationResult
}

// Operation returns Cancel.
func (*CancelResponsePayload) Operation() kmip.Operation { return kmip.OperationCancel }

// cancelableOps change nothing on the server: canceling one pending drops
// its result.
var cancelableOps = map[kmip.Operation]bool{
	kmip.OperationLocate: true, kmip.OperationGet: true, kmip.OperationGetAttributes: true,
	kmip.OperationGetAttributeList: true, kmip.OperationQuery: true, kmip.OperationDiscoverVersions: true,
	kmip.OperationCheck: true,
}

// asyncResult is one held result.
type asyncResult struct {
	owner string // client certificate fingerprint
	item  kmip.ResponseBatchItem
	until time.Time
	v2    *held2 // nil: a 1.x request made it
}

// asyncResults holds the results of asynchronous requests; the zero value
// is ready.
type asyncResults struct {
	mu sync.Mutex
	m  map[string]asyncResult
}

func (a *asyncResults) put(cv []byte, res asyncResult) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for k, v := range a.m {
		if now.After(v.until) {
			delete(a.m, k)
		}
	}
	if len(a.m) >= asyncMax {
		return false
	}
	if a.m == nil {
		a.m = map[string]asyncResult{}
	}
	a.m[string(cv)] = res
	return true
}

// take returns and forgets the result of cv if owner may have it.
func (a *asyncResults) take(cv []byte, owner string, forget bool) (asyncResult, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	res, ok := a.m[string(cv)]
	if !ok || res.owner != owner || time.Now().After(res.until) {
		return asyncResult{}, false
	}
	if forget {
		delete(a.m, string(cv))
	}
	return res, true
}

// peerOwner identifies the client that may poll a result.
func peerOwner(p Peer) string {
	if p.Certificate == nil {
		return ""
	}
	return pki.Fingerprint(p.Certificate)
}

// finishAsync applies the asynchronous behaviour to a response: polled
// items become the results they carry, and when the request asked for
// asynchronous processing, every other item is held and answered
// Operation Pending with its correlation value.
func (r *Router) finishAsync(peer Peer, msg *kmip.RequestMessage, out *kmip.ResponseMessage) {
	r.finishAsyncAs(peer, msg, out, nil)
}

// finishAsyncAs is finishAsync for a request translated from KMIP 2.x when
// v2 is not nil: a held result keeps its item's translation state and 2.x
// reason, and a polled one brings them back (v2async.go).
func (r *Router) finishAsyncAs(peer Peer, msg *kmip.RequestMessage, out *kmip.ResponseMessage, v2 *v2State) {
	async := msg.Header.AsynchronousIndicator != nil && *msg.Header.AsynchronousIndicator
	owner := peerOwner(peer)
	for i, it := range out.BatchItem {
		if p, ok := it.ResponsePayload.(*PollResponsePayload); ok && p.result != nil {
			res := *p.result
			res.UniqueBatchItemID = it.UniqueBatchItemID
			out.BatchItem[i] = res
			v2.polled(i, res.Operation, p.v2)
			continue
		}
		if !async || it.Operation == kmip.OperationPoll || it.Operation == kmip.OperationCancel {
			continue
		}
		cv := make([]byte, 16)
		if _, err := rand.Read(cv); err != nil || !r.async.put(cv, asyncResult{owner: owner, item: it, until: time.Now().Add(asyncTTL), v2: v2.held(i)}) {
			// Answered at once: a client must accept a synchronous answer.
			continue
		}
		out.BatchItem[i] = kmip.ResponseBatchItem{
			Operation: it.Operation, UniqueBatchItemID: it.UniqueBatchItemID,
			ResultStatus: kmip.ResultStatusOperationPending, AsynchronousCorrelationValue: cv,
		}
		v2.setReason(i, 0) // a pending item has no reason
	}
}

func (r *Router) poll(_ context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*PollRequestPayload)
	owner := peerOwner(b.peer)
	res, ok := r.async.take(req.AsynchronousCorrelationValue, owner, false)
	if !ok {
		return nil, errNoPending
	}
	if res.v2 != nil && b.v2 == nil {
		// Its answer may hold what only 2.x defines (v2attrs.go).
		return nil, errPendingIn2
	}
	if res, ok = r.async.take(req.AsynchronousCorrelationValue, owner, true); !ok {
		return nil, errNoPending // polled meanwhile: a result is returned once
	}
	return &PollResponsePayload{result: &res.item, v2: res.v2}, nil
}

func (r *Router) cancel(_ context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*CancelRequestPayload)
	// Every operation has run by the time it is pending. One that changed
	// nothing (a read, or a failure) is canceled: its result is dropped.
	// One that changed something has Completed, and its result stays
	// available to Poll.
	result := kmip.CancellationResultUnavailable
	owner := peerOwner(b.peer)
	if res, ok := r.async.take(req.AsynchronousCorrelationValue, owner, false); ok {
		item := res.item
		result = kmip.CancellationResultCompleted
		if item.ResultStatus != kmip.ResultStatusSuccess || cancelableOps[item.Operation] {
			r.async.take(req.AsynchronousCorrelationValue, owner, true)
			result = kmip.CancellationResultCanceled
		}
	}
	return &CancelResponsePayload{AsynchronousCorrelationValue: bytes.Clone(req.AsynchronousCorrelationValue), CancellationResult: result}, nil
}
