package conformance

import (
	"fmt"

	"github.com/ovh/kmip-go"
)

// compareMessage compares a whole response message; req is the request as
// sent. It adds the objects the response shows generated to prov.
func (c *comparer) compareMessage(req, exp, act *Node, prov *Provenance) {
	if act.Tag != exp.Tag {
		c.add("", exp, act, 0, fmt.Sprintf("message %s, want %s", act.Name(), exp.Name()))
		return
	}
	eh, ah := exp.Child(kmip.TagResponseHeader), act.Child(kmip.TagResponseHeader)
	switch {
	case ah == nil:
		c.add("ResponseHeader", eh, nil, 0, "missing")
	case eh != nil:
		c.compareChildren("ResponseHeader", eh.Children, ah.Children,
			payloadRule{skip: map[int]bool{kmip.TagServerCorrelationValue: true}}, scope{})
	}
	eItems, aItems := exp.ChildrenWith(kmip.TagBatchItem), act.ChildrenWith(kmip.TagBatchItem)
	if len(eItems) != len(aItems) {
		c.mm = append(c.mm, Mismatch{Path: "BatchItem", Expected: fmt.Sprintf("%d items", len(eItems)),
			Actual: fmt.Sprintf("%d items", len(aItems)), Note: "batch item count"})
	}
	reqItems := req.ChildrenWith(kmip.TagBatchItem)
	for i := 0; i < min(len(eItems), len(aItems)); i++ {
		sc := scope{op: batchOp(eItems[i], reqItems, i)}
		if i < len(reqItems) {
			sc.reqPayload = reqItems[i].Child(kmip.TagRequestPayload)
		}
		sc.genObject = refersToGenerated(sc.reqPayload, prov) ||
			refersToGenerated(aItems[i].Child(kmip.TagResponsePayload), prov)
		sc.publicKey = refersToPublic(sc.reqPayload, prov)
		sc.issued = issuedFor(sc.reqPayload, aItems[i].Child(kmip.TagResponsePayload), prov)
		path := segment(eItems[i], i, len(eItems))
		c.compareChildren(path, eItems[i].Children, aItems[i].Children,
			payloadRule{skip: map[int]bool{kmip.TagResultMessage: true}}, sc)
		markGenerated(sc.op, aItems[i], prov)
		markSplitJoin(sc.op, sc.reqPayload, aItems[i], prov)
		markLocatedFresh(sc.op, sc.reqPayload, aItems[i], prov)
		markPublic(sc.op, sc.reqPayload, aItems[i], prov)
		markIssued(sc.op, sc.reqPayload, aItems[i], prov)
	}
}

// markPublic records the identifiers of the public keys a Register or a
// Create Key Pair returned.
func markPublic(op uint32, req, bi *Node, prov *Provenance) {
	if !isSuccess(bi) {
		return
	}
	p := bi.Child(kmip.TagResponsePayload)
	if p == nil {
		return
	}
	switch {
	case op == uint32(kmip.OperationRegister) && req != nil:
		if t, ok := req.Child(kmip.TagObjectType).enumValue(); !ok || t != uint32(kmip.ObjectTypePublicKey) {
			return
		}
		if id, ok := p.Child(kmip.TagUniqueIdentifier).stringValue(); ok {
			prov.addPublic(id)
		}
	case op == uint32(kmip.OperationCreateKeyPair):
		if id, ok := p.Child(kmip.TagPublicKeyUniqueIdentifier).stringValue(); ok {
			prov.addPublic(id)
		}
	}
}

// refersToPublic reports whether a request payload's Unique Identifier
// names a public key.
func refersToPublic(req *Node, prov *Provenance) bool {
	if req == nil {
		return false
	}
	id, ok := req.Child(kmip.TagUniqueIdentifier).stringValue()
	return ok && prov.isPublic(id)
}

func (n *Node) stringValue() (string, bool) {
	if n == nil {
		return "", false
	}
	s, ok := n.Value.(string)
	return s, ok
}

// markGenerated records the identifiers returned by an operation that
// makes the server generate material.
func markGenerated(op uint32, bi *Node, prov *Provenance) {
	if !generatingOps[op] || !isSuccess(bi) {
		return
	}
	if p := bi.Child(kmip.TagResponsePayload); p != nil {
		for _, c := range p.Children {
			if s, ok := c.Value.(string); ok && uidTags[c.Tag] {
				prov.add(s)
			}
		}
	}
}

// refersToGenerated reports whether a payload names a generated object.
func refersToGenerated(n *Node, prov *Provenance) bool {
	if n == nil {
		return false
	}
	if s, ok := n.Value.(string); ok && uidTags[n.Tag] && prov.has(s) {
		return true
	}
	for _, c := range n.Children {
		if refersToGenerated(c, prov) {
			return true
		}
	}
	return false
}

func isSuccess(bi *Node) bool {
	rs := bi.Child(kmip.TagResultStatus)
	return rs != nil && rs.Value == uint32(kmip.ResultStatusSuccess)
}

// batchOp returns the operation of the i-th batch item: the request's, else
// the response's own.
func batchOp(bi *Node, reqItems []*Node, i int) uint32 {
	if i < len(reqItems) {
		if op, ok := reqItems[i].Child(kmip.TagOperation).enumValue(); ok {
			return op
		}
	}
	op, _ := bi.Child(kmip.TagOperation).enumValue()
	return op
}

func (n *Node) enumValue() (uint32, bool) {
	if n == nil {
		return 0, false
	}
	v, ok := n.Value.(uint32)
	return v, ok
}

// operations names the operations of a request's batch items.
func operations(req *Node) []string {
	var ops []string
	for _, bi := range req.ChildrenWith(kmip.TagBatchItem) {
		op, _ := bi.Child(kmip.TagOperation).enumValue()
		ops = append(ops, enumName(kmip.TagOperation, op))
	}
	return ops
}
