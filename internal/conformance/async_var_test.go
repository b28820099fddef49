package conformance

import (
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// TestCorrelationValueRebinds: each Operation Pending answer carries a new
// correlation value that binds afresh, while one inside a payload (a
// Cancel answer) must equal the bound value.
func TestCorrelationValueRebinds(t *testing.T) {
	const name = "ASYNCHRONOUS_CORRELATION_VALUE"
	exp := &Node{Tag: kmip.TagAsynchronousCorrelationValue, Type: ttlv.TypeByteString, Var: name}
	act := func(v string) *Node {
		return &Node{Tag: kmip.TagAsynchronousCorrelationValue, Type: ttlv.TypeByteString, Value: []byte(v)}
	}
	tests := []struct {
		name, path string
		value      string
		wantMM     int
	}{
		{"a new pending answer rebinds", "BatchItem/AsynchronousCorrelationValue", "second", 0},
		{"a payload must match the bound value", "BatchItem/ResponsePayload/AsynchronousCorrelationValue", "other", 1},
		{"a payload with the bound value matches", "BatchItem/ResponsePayload/AsynchronousCorrelationValue", "first", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &comparer{bound: map[string]*Node{name: act("first")}}
			c.compareVar(tc.path, exp, act(tc.value), exp.Tag)
			if len(c.mm) != tc.wantMM {
				t.Fatalf("mismatches %v, want %d", c.mm, tc.wantMM)
			}
		})
	}
}
