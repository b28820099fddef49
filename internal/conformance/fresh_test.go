package conformance

import (
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// TestMarkLocatedFresh: an object a Locate of fresh group members returns
// for the first time is the server's (its material is not compared); one
// returned before, or returned by another Locate, is not.
func TestMarkLocatedFresh(t *testing.T) {
	uid := func(id string) *Node {
		return &Node{Tag: kmip.TagUniqueIdentifier, Type: ttlv.TypeTextString, Value: id}
	}
	item := func(ids ...string) *Node {
		p := &Node{Tag: kmip.TagResponsePayload, Type: ttlv.TypeStructure}
		for _, id := range ids {
			p.Children = append(p.Children, uid(id))
		}
		return &Node{Tag: kmip.TagBatchItem, Type: ttlv.TypeStructure, Children: []*Node{
			{Tag: kmip.TagResultStatus, Type: ttlv.TypeEnumeration, Value: uint32(kmip.ResultStatusSuccess)}, p}}
	}
	locate := func(member kmip.ObjectGroupMember) *Node {
		req := &Node{Tag: kmip.TagRequestPayload, Type: ttlv.TypeStructure}
		if member != 0 {
			req.Children = append(req.Children, &Node{Tag: kmip.TagObjectGroupMember, Type: ttlv.TypeEnumeration, Value: uint32(member)})
		}
		return req
	}
	prov := NewProvenance()
	steps := []struct {
		name string
		op   kmip.Operation
		req  *Node
		ids  []string
		// generated lists the ids that must then be marked generated.
		generated map[string]bool
	}{
		{"register", kmip.OperationRegister, &Node{Tag: kmip.TagRequestPayload}, []string{"reg"}, map[string]bool{"reg": false}},
		{"plain locate of a new id", kmip.OperationLocate, locate(0), []string{"other"}, map[string]bool{"other": false}},
		{"fresh locate of a registered key", kmip.OperationLocate, locate(kmip.ObjectGroupMemberFresh), []string{"reg"}, map[string]bool{"reg": false}},
		{"fresh locate of a new id", kmip.OperationLocate, locate(kmip.ObjectGroupMemberFresh), []string{"made"}, map[string]bool{"made": true}},
		{"default locate of a new id", kmip.OperationLocate, locate(kmip.ObjectGroupMemberDefault), []string{"dflt"}, map[string]bool{"dflt": false}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			markLocatedFresh(uint32(s.op), s.req, item(s.ids...), prov)
			for id, want := range s.generated {
				if prov.has(id) != want {
					t.Fatalf("%s generated = %v, want %v", id, prov.has(id), want)
				}
			}
		})
	}
}
