package conformance

import (
	"github.com/ovh/kmip-go"
)

// A Locate with Object Group Member Group Member Fresh may make the server
// generate a new object on the fly when the group has no fresh member left
// (KMIP 1.1 to 1.4, Locate: "the server MAY choose to generate a new object
// on-the-fly, based on server policy"); vectors TC_151 say so ("the kind of
// object returned depends on the server policy"). An identifier such a
// Locate returns that no earlier response of the server returned is such an
// object: its material is the server's choice, like a Create's.

// markLocatedFresh records as generated the objects a Locate of fresh group
// members returned for the first time, then remembers every identifier the
// item returned.
func markLocatedFresh(op uint32, req, bi *Node, prov *Provenance) {
	p := bi.Child(kmip.TagResponsePayload)
	if p == nil || !isSuccess(bi) {
		return
	}
	fresh := false
	if op == uint32(kmip.OperationLocate) && req != nil {
		m, ok := req.Child(kmip.TagObjectGroupMember).enumValue()
		fresh = ok && m == uint32(kmip.ObjectGroupMemberFresh)
	}
	for _, c := range p.Children {
		id, ok := c.Value.(string)
		if !ok || !uidTags[c.Tag] {
			continue
		}
		if fresh && !prov.wasSeen(id) {
			prov.add(id)
		}
		prov.see(id)
	}
}

func (p *Provenance) see(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	p.seen[id] = true
}

func (p *Provenance) wasSeen(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[id]
}
