package conformance

import (
	"testing"

	"github.com/ovh/kmip-go"
)

// TestSplitKeyMaterial: the material of a part Create Split Key made is
// the server's choice; the material a Join Split Key forms from a
// registered key's parts, or from registered parts, is not.
func TestSplitKeyMaterial(t *testing.T) {
	const (
		partPath   = "BatchItem/ResponsePayload/SplitKey/KeyBlock/KeyValue/KeyMaterial"
		joinedPath = "BatchItem/ResponsePayload/SymmetricKey/KeyBlock/KeyValue/KeyMaterial"
	)
	tests := []struct {
		name, file string
		ex         int
		path       string
		wantPass   bool
	}{
		{"unchanged", "TC_SJ_2_12_Register_and_Split_Join.xml", 0, "", true},
		{"server-made part", "TC_SJ_2_12_Register_and_Split_Join.xml", 2, partPath, true},
		{"last server-made part", "TC_SJ_4_12_Register_and_Split_Join_with_XOR.xml", 5, partPath, true},
		{"join of a registered key's GF(2^8) parts", "TC_SJ_2_12_Register_and_Split_Join.xml", 7, joinedPath, false},
		{"join of a registered key's XOR parts", "TC_SJ_4_12_Register_and_Split_Join_with_XOR.xml", 7, joinedPath, false},
		{"join of registered parts", "TC_SJ_3_12_Join_Split_Keys.xml", 5, joinedPath, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustLoad(t, vectorPath(t, "v1.2", tt.file))
			var mutate func(*testing.T, *Node)
			if tt.path != "" {
				mutate = setValue(tt.path, []byte("other material...."))
			}
			r := runEcho(t, s, tt.ex, mutate)
			if r.Passed() != tt.wantPass {
				t.Fatalf("passed = %v, want %v:\n%s", r.Passed(), tt.wantPass, r.Report())
			}
		})
	}
}

// TestMarkSplitJoin: a Join's output is generated exactly when one of its
// parts split a generated secret.
func TestMarkSplitJoin(t *testing.T) {
	uid := func(id string) *Node { return &Node{Tag: kmip.TagUniqueIdentifier, Value: id} }
	payload := func(tag int, ids ...string) *Node {
		n := &Node{Tag: tag}
		for _, id := range ids {
			n.Children = append(n.Children, uid(id))
		}
		return n
	}
	item := func(ok bool, ids ...string) *Node {
		status := uint32(kmip.ResultStatusSuccess)
		if !ok {
			status = uint32(kmip.ResultStatusOperationFailed)
		}
		return &Node{Tag: kmip.TagBatchItem, Children: []*Node{
			{Tag: kmip.TagResultStatus, Value: status}, payload(kmip.TagResponsePayload, ids...),
		}}
	}
	split, join := uint32(kmip.OperationCreateSplitKey), uint32(kmip.OperationJoinSplitKey)
	tests := []struct {
		name      string
		generated []string // objects the server generated before
		steps     func(prov *Provenance)
		joined    string
		want      bool
	}{
		{"split of a generated key", []string{"k"}, func(p *Provenance) {
			markSplitJoin(split, payload(kmip.TagRequestPayload, "k"), item(true, "p1", "p2"), p)
			markSplitJoin(join, payload(kmip.TagRequestPayload, "p1", "p2"), item(true, "j"), p)
		}, "j", true},
		{"split of a registered key", nil, func(p *Provenance) {
			markSplitJoin(split, payload(kmip.TagRequestPayload, "k"), item(true, "p1", "p2"), p)
			markSplitJoin(join, payload(kmip.TagRequestPayload, "p1", "p2"), item(true, "j"), p)
		}, "j", false},
		{"split of the key the server generates", nil, func(p *Provenance) {
			markSplitJoin(split, payload(kmip.TagRequestPayload), item(true, "p1", "p2"), p)
			markSplitJoin(join, payload(kmip.TagRequestPayload, "p2", "p1"), item(true, "j"), p)
		}, "j", true},
		{"registered parts", nil, func(p *Provenance) {
			markSplitJoin(join, payload(kmip.TagRequestPayload, "r1", "r2"), item(true, "j"), p)
		}, "j", false},
		{"failed split", []string{"k"}, func(p *Provenance) {
			markSplitJoin(split, payload(kmip.TagRequestPayload, "k"), item(false, "p1"), p)
			markSplitJoin(join, payload(kmip.TagRequestPayload, "p1"), item(true, "j"), p)
		}, "j", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prov := NewProvenance()
			for _, id := range tt.generated {
				prov.add(id)
			}
			tt.steps(prov)
			if got := prov.has(tt.joined); got != tt.want {
				t.Errorf("joined object generated = %v, want %v", got, tt.want)
			}
		})
	}
}
