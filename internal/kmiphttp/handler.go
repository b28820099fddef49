// Package kmiphttp serves KMIP over HTTPS (the KMIP HTTPS profile and the
// MSGENC-HTTPS, MSGENC-XML and MSGENC-JSON message encoding profiles): a
// client POSTs one request message to Path, in binary TTLV
// (application/octet-stream), the KMIP XML encoding (text/xml) or the KMIP
// JSON encoding (application/json), and receives the response message in
// the same encoding.
//
// The request is turned into binary TTLV and answered by the same
// kmip.MessageHandler (which validates it, see kmip.Router) as the TTLV-over-TLS listener (the router): the same
// principal resolution from the client certificate, the same operations,
// the same audit. Only the encoding differs. The XML and JSON codecs are
// those of ovh/kmip-go's ttlv package.
package kmiphttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	kwkmip "github.com/keywarden/keywarden/internal/kmip"
)

// Path is where KMIP requests are POSTed.
const Path = "/kmip"

// The content types of the three encodings.
const (
	ContentTypeTTLV = "application/octet-stream"
	ContentTypeXML  = "text/xml"
	ContentTypeJSON = "application/json"
)

// DefaultMaxBody bounds a request body, in bytes.
const DefaultMaxBody = 1 << 20

// connIDBase sets the connection numbers of HTTP requests apart from those
// of the TTLV listener, whose principal cache is keyed by them.
const connIDBase = uint64(1) << 62

// Options configures a Handler.
type Options struct {
	// Logger receives one line per refused request; nil discards.
	Logger *slog.Logger
	// MaxBody bounds a request body, in bytes; zero means DefaultMaxBody.
	MaxBody int64
}

// Handler is the http.Handler of KMIP over HTTPS. It must be served over
// TLS with verified client certificates (tls.RequireAndVerifyClientCert):
// a request without one is refused.
type Handler struct {
	h    kwkmip.MessageHandler
	log  *slog.Logger
	max  int64
	next atomic.Uint64
}

// NewHandler returns the handler that answers KMIP requests with h.
func NewHandler(h kwkmip.MessageHandler, opts Options) *Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	max := opts.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	return &Handler{h: h, log: log, max: max}
}

// codec converts one encoding to and from binary TTLV.
type codec struct {
	contentType string
	toTTLV      func([]byte) ([]byte, error)
	fromTTLV    func([]byte) ([]byte, error)
}

var codecs = map[string]codec{
	ContentTypeTTLV:   {ContentTypeTTLV, func(b []byte) ([]byte, error) { return b, nil }, func(b []byte) ([]byte, error) { return b, nil }},
	ContentTypeXML:    {ContentTypeXML, fromText(ttlv.UnmarshalXML), toText(ttlv.MarshalXML)},
	"application/xml": {ContentTypeXML, fromText(ttlv.UnmarshalXML), toText(ttlv.MarshalXML)},
	ContentTypeJSON:   {ContentTypeJSON, fromText(ttlv.UnmarshalJSON), toText(ttlv.MarshalJSON)},
}

// ServeHTTP answers one KMIP request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		h.log.Info("kmiphttp: request without a client certificate", "remote", r.RemoteAddr)
		http.Error(w, "client certificate required", http.StatusUnauthorized)
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	c, ok := codecs[mt]
	if err != nil || !ok {
		http.Error(w, "unsupported content type: use application/octet-stream, text/xml or application/json", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	peer := kwkmip.Peer{RemoteAddr: r.RemoteAddr, Certificate: r.TLS.PeerCertificates[0], ConnID: connIDBase + h.next.Add(1)}
	out, err := h.answer(r.Context(), peer, c, body)
	if err != nil {
		h.log.Warn("kmiphttp: response not encodable", "remote", r.RemoteAddr, "content_type", mt)
		out, err = c.fromTTLV(invalidMessage())
		if err != nil {
			http.Error(w, "invalid KMIP message", http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", c.contentType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(out)
}

// answer decodes the request, has it answered, and encodes the response.
// A request that cannot be turned into TTLV is still handed to the handler
// as it came: the router refuses it (Invalid Message) and audits the
// refusal, as it does for a malformed message on the TTLV listener.
func (h *Handler) answer(ctx context.Context, peer kwkmip.Peer, c codec, body []byte) ([]byte, error) {
	req, err := c.toTTLV(body)
	if err != nil {
		// The decoder's error may quote request values: it is not logged.
		h.log.Info("kmiphttp: undecodable request", "remote", peer.RemoteAddr, "content_type", c.contentType)
		req = body
	}
	resp := h.h.HandleMessage(ctx, peer, req)
	if len(resp) == 0 {
		return nil, errors.New("kmiphttp: empty response from the handler")
	}
	return c.fromTTLV(resp)
}

// fromText returns the conversion of a text encoding (XML, JSON) to
// binary TTLV, through the typed request message, else a generic value. A
// KMIP 2.x request goes through a generic value (text2.go).
func fromText(unmarshal func([]byte, any) error) func([]byte) ([]byte, error) {
	return func(b []byte) (out []byte, err error) {
		defer recoverCodec(&err)
		if enc, ok := text2(unmarshal, b); ok {
			return enc, nil
		}
		var msg kmip.RequestMessage
		if err := unmarshal(b, &msg); err == nil {
			return ttlv.MarshalTTLV(&msg), nil
		}
		var v ttlv.Value
		if err := unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("kmiphttp: decode request: %w", err)
		}
		return ttlv.MarshalTTLV(&v), nil
	}
}

// toText returns the conversion of a binary TTLV response to a text
// encoding, through the typed response message, else a generic value. A
// response with an Operation Pending item goes through the generic value:
// ovh's typed batch item would give it back the zero Result Reason the
// router left out (a pending item has a correlation value, no reason). So
// does a KMIP 2.x response, whose 2.x fields (Attributes, Profile Version,
// ...) the typed 1.4 message would drop.
func toText(marshal func(any) []byte) func([]byte) ([]byte, error) {
	return func(b []byte) (out []byte, err error) {
		defer recoverCodec(&err)
		var msg kmip.ResponseMessage
		if err := ttlv.UnmarshalTTLV(b, &msg); err == nil && !hasPending(&msg) && msg.Header.ProtocolVersion.ProtocolVersionMajor < 2 {
			return marshal(&msg), nil
		}
		var v ttlv.Value
		if err := ttlv.UnmarshalTTLV(b, &v); err != nil {
			return nil, fmt.Errorf("kmiphttp: decode response: %w", err)
		}
		return marshal(&v), nil
	}
}

// hasPending reports whether a response has an Operation Pending item.
func hasPending(msg *kmip.ResponseMessage) bool {
	for _, it := range msg.BatchItem {
		if it.ResultStatus == kmip.ResultStatusOperationPending {
			return true
		}
	}
	return false
}

// recoverCodec turns a panic of the ovh codecs into an error.
func recoverCodec(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("kmiphttp: codec: %v", p)
	}
}

// invalidMessage is the binary response to a request that could not be
// decoded: one failed batch item with Result Reason Invalid Message.
func invalidMessage() []byte {
	return ttlv.MarshalTTLV(&kmip.ResponseMessage{
		Header: kmip.ResponseHeader{ProtocolVersion: kmip.V1_0, TimeStamp: time.Now().UTC().Truncate(time.Second), BatchCount: 1},
		BatchItem: []kmip.ResponseBatchItem{{
			ResultStatus: kmip.ResultStatusOperationFailed, ResultReason: kmip.ResultReasonInvalidMessage,
			ResultMessage: "invalid KMIP message",
		}},
	})
}
