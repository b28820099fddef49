package conformance

import (
	"github.com/ovh/kmip-go"
)

// Split keys. The parts Create Split Key makes hold random values (the
// polynomial's coefficients, the XOR pads), so generatingOps marks them
// generated and their material is not compared. A Join Split Key's output,
// though, is the secret that was split: it is the server's choice only
// when that secret was, that is when Create Split Key split a key the
// server generated, or named none (the server then generates the key it
// splits). When the split key was registered (TC-SJ-2, TC-SJ-4) or the
// parts were (TC-SJ-3), the joined material is determined by the vector
// and must match exactly.

// markSplitJoin records the parts of a Create Split Key that split a
// generated secret, and marks the output of a Join Split Key generated
// when one of its parts did. req is the request payload as sent, bi the
// actual response batch item.
func markSplitJoin(op uint32, req, bi *Node, prov *Provenance) {
	if !isSuccess(bi) {
		return
	}
	p := bi.Child(kmip.TagResponsePayload)
	switch op {
	case uint32(kmip.OperationCreateSplitKey):
		if base, ok := req.Child(kmip.TagUniqueIdentifier).stringValue(); ok && !prov.has(base) {
			return
		}
		for _, c := range p.ChildrenWith(kmip.TagUniqueIdentifier) {
			if id, ok := c.stringValue(); ok {
				prov.addSplitOfGenerated(id)
			}
		}
	case uint32(kmip.OperationJoinSplitKey):
		id, ok := p.Child(kmip.TagUniqueIdentifier).stringValue()
		if !ok {
			return
		}
		for _, c := range req.ChildrenWith(kmip.TagUniqueIdentifier) {
			if part, ok := c.stringValue(); ok && prov.isSplitOfGenerated(part) {
				prov.add(id)
				return
			}
		}
	}
}

func (p *Provenance) addSplitOfGenerated(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.splitOfGenerated == nil {
		p.splitOfGenerated = map[string]bool{}
	}
	p.splitOfGenerated[id] = true
}

func (p *Provenance) isSplitOfGenerated(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.splitOfGenerated[id]
}
