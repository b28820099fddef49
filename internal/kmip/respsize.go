package kmip

import (
	"fmt"
	"log/slog"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Maximum Response Size (KMIP 1.x section 6.3): a client may bound the size
// of the response in its request header; when the encoded response would be
// larger, the server answers Response Too Large instead, for every batch
// item of the request.

// limitResponseSize returns the encoded response, or, when it exceeds the
// request's Maximum Response Size, the encoded Response Too Large answer.
// The items have already run (and been audited): a response that is too
// large is withheld, not undone, as the specification describes.
func (r *Router) limitResponseSize(msg *kmip.RequestMessage, out *kmip.ResponseMessage) []byte {
	enc := ttlv.MarshalTTLV(out)
	for _, it := range out.BatchItem {
		if it.ResultStatus == kmip.ResultStatusOperationPending || it.ResultStatus == kmip.ResultStatusOperationUndone {
			enc = stripPendingReasons(enc)
			break
		}
	}
	limit := msg.Header.MaximumResponseSize
	if limit <= 0 || len(enc) <= int(limit) {
		return enc
	}
	e := kerr(kmip.ResultReasonResponseTooLarge, fmt.Sprintf("response size %d exceeds the maximum response size %d", len(enc), limit))
	r.log.Info("kmip: response withheld: too large", slog.Int("size", len(enc)), slog.Int("max", int(limit)))
	small := &kmip.ResponseMessage{Header: out.Header}
	for _, it := range msg.BatchItem {
		small.BatchItem = append(small.BatchItem, failed(it, e))
	}
	small.Header.BatchCount = int32(len(small.BatchItem))
	return ttlv.MarshalTTLV(small)
}
