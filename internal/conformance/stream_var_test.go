package conformance

import (
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// TestStreamCorrelationValueRebinds: the Correlation Value answered to a
// first part (Init Indicator true) binds afresh, each stream having its
// own; the answer to a later part must carry the bound value.
func TestStreamCorrelationValueRebinds(t *testing.T) {
	const name = "CORRELATION_VALUE"
	exp := &Node{Tag: kmip.TagCorrelationValue, Type: ttlv.TypeByteString, Var: name}
	act := func(v string) *Node {
		return &Node{Tag: kmip.TagCorrelationValue, Type: ttlv.TypeByteString, Value: []byte(v)}
	}
	request := func(children ...*Node) *Node {
		return &Node{Tag: kmip.TagRequestPayload, Type: ttlv.TypeStructure, Children: children}
	}
	initIndicator := func(v bool) *Node { return &Node{Tag: kmip.TagInitIndicator, Type: ttlv.TypeBoolean, Value: v} }
	tests := []struct {
		name   string
		req    *Node
		value  string
		wantMM int
	}{
		{"a first part's answer rebinds", request(initIndicator(true)), "second", 0},
		{"a later part's answer must match", request(exp), "other", 1},
		{"a later part's answer with the bound value matches", request(exp), "first", 0},
		{"Init Indicator false is a later part", request(initIndicator(false), exp), "other", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &comparer{bound: map[string]*Node{name: act("first")}}
			c.compareNode("BatchItem/ResponsePayload/CorrelationValue", exp, act(tc.value), scope{op: uint32(kmip.OperationEncrypt), reqPayload: tc.req})
			if len(c.mm) != tc.wantMM {
				t.Fatalf("mismatches %v, want %d", c.mm, tc.wantMM)
			}
			if tc.wantMM == 0 && string(c.bound[name].Value.([]byte)) != tc.value {
				t.Fatalf("bound to %q, want %q", c.bound[name].Value, tc.value)
			}
		})
	}
}
