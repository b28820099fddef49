package kmip

import (
	"bytes"
	"encoding/binary"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/wire"
)

// A batch item that ovh's decoder cannot take fails alone, like a 2.x item
// the translation cannot translate (v2items.go). When a request that is
// well-formed TTLV (wire.Validate) fails to decode as a whole, the request
// is decoded again one batch item at a time: each item in a message of its
// own, with the request's header and a Batch Count of 1, through the same
// steps (decode: Transparent DSA keys, ovh's decoder, the re-encode
// check). An item that fails there is carried as an untranslated
// placeholder with its operation, its Unique Batch Item ID and the Result
// Reason of its failure (a refused DSA key: Invalid Field; a field the
// decoder would lose: Invalid Message), so it is audited, counted and
// answered like any failed item and the Batch Error Continuation Option
// applies (Stop, Continue, Undo).
//
// The request is still refused as a whole, as before, when the failure is
// not one item's: broken framing (wire.Validate), a header that does not
// decode losslessly, a Batch Count that is not the number of items, an
// item whose operation cannot be read, anything at the top level other
// than the header and batch items, or no item failing alone.

// decodeBatch decodes a request message like decode, and item by item
// (decodeItems) when the message as a whole cannot be decoded.
func (r *Router) decodeBatch(req []byte) (*kmip.RequestMessage, error) {
	msg, err := r.decode(req)
	if err == nil {
		return msg, nil
	}
	if _, verr := wire.Validate(req, r.limits); verr != nil {
		return msg, err
	}
	byItem, ok := r.decodeItems(req)
	if !ok {
		return msg, err
	}
	return byItem, nil
}

// decodeItems decodes req one batch item at a time (see above); ok is
// false when the failure is not any item's alone.
func (r *Router) decodeItems(req []byte) (*kmip.RequestMessage, bool) {
	top, ok := wire.Level(req)
	if !ok || len(top) != 1 || top[0].Tag != wire.TagRequestMessage || top[0].Type != wire.TypeStructure {
		return nil, false
	}
	nodes, ok := wire.Level(top[0].Value)
	if !ok || len(nodes) < 2 || nodes[0].Tag != uint32(kmip.TagRequestHeader) || nodes[0].Type != wire.TypeStructure {
		return nil, false
	}
	itemNodes := nodes[1:]
	for _, n := range itemNodes {
		if n.Tag != uint32(kmip.TagBatchItem) || n.Type != wire.TypeStructure {
			return nil, false
		}
	}
	header, ok := r.decodeHeader(nodes[0])
	if !ok || int(header.BatchCount) != len(itemNodes) {
		return nil, false
	}
	single, ok := withBatchCount(nodes[0], 1)
	if !ok {
		return nil, false
	}
	msg := &kmip.RequestMessage{Header: header}
	failures := 0
	for _, n := range itemNodes {
		one := encodeMessage(single, n)
		m, err := r.decode(one)
		if err == nil && len(m.BatchItem) == 1 {
			msg.BatchItem = append(msg.BatchItem, m.BatchItem[0])
			continue
		}
		if err == nil {
			return nil, false
		}
		op, id, ok := itemIdentity(n)
		if !ok {
			return nil, false
		}
		e := toKMIP(err)
		r.log.Info("kmip: batch item not decoded", "item", len(msg.BatchItem), "op", ttlv.EnumStr(op), "reason", ttlv.EnumStr(e.Reason), "err", err)
		msg.BatchItem = append(msg.BatchItem, kmip.RequestBatchItem{
			Operation:         op,
			UniqueBatchItemID: id,
			RequestPayload:    &untranslated{op: op, err: e},
		})
		failures++
	}
	return msg, failures > 0
}

// decodeHeader decodes a request header alone, in a message without batch
// items, and checks that decoding lost nothing.
func (r *Router) decodeHeader(h wire.Node) (kmip.RequestHeader, bool) {
	raw := encodeMessage(h)
	var m kmip.RequestMessage
	if err := safeDecode(bytes.Clone(raw), &m); err != nil || len(m.BatchItem) != 0 {
		return kmip.RequestHeader{}, false
	}
	if again := ttlv.MarshalTTLV(&m); !bytes.Equal(raw, again) {
		want, err := wire.Items(raw, r.limits)
		if err != nil {
			return kmip.RequestHeader{}, false
		}
		got, err := wire.Items(again, r.limits)
		if err != nil || wire.Compare(want, got) != nil {
			return kmip.RequestHeader{}, false
		}
	}
	return m.Header, true
}

// withBatchCount returns the header h with its Batch Count set to n; ok is
// false when h has no Batch Count integer.
func withBatchCount(h wire.Node, n int32) (wire.Node, bool) {
	fields, ok := wire.Level(h.Value)
	if !ok {
		return wire.Node{}, false
	}
	set := false
	for i := range fields {
		if fields[i].Tag == uint32(kmip.TagBatchCount) && fields[i].Type == wire.TypeInteger {
			fields[i].Value = binary.BigEndian.AppendUint32(nil, uint32(n))
			set = true
		}
	}
	if !set {
		return wire.Node{}, false
	}
	return wire.Node{Tag: h.Tag, Type: h.Type, Value: wire.EncodeLevel(fields)}, true
}

// encodeMessage encodes a request message holding nodes.
func encodeMessage(nodes ...wire.Node) []byte {
	return wire.EncodeLevel([]wire.Node{{Tag: wire.TagRequestMessage, Type: wire.TypeStructure, Value: wire.EncodeLevel(nodes)}})
}

// itemIdentity reads the Operation and the Unique Batch Item ID of a batch
// item without decoding its payload; ok is false without an operation.
func itemIdentity(item wire.Node) (op kmip.Operation, id []byte, ok bool) {
	fields, fine := wire.Level(item.Value)
	if !fine {
		return 0, nil, false
	}
	for _, f := range fields {
		switch {
		case f.Tag == uint32(kmip.TagOperation) && f.Type == wire.TypeEnumeration && len(f.Value) == 4 && !ok:
			op, ok = kmip.Operation(binary.BigEndian.Uint32(f.Value)), true
		case f.Tag == uint32(kmip.TagUniqueBatchItemID) && f.Type == wire.TypeByteString && id == nil:
			id = bytes.Clone(f.Value)
		}
	}
	return op, id, ok
}
