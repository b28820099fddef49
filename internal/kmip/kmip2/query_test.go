package kmip2

import (
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

func TestQueryResponse(t *testing.T) {
	tests := []struct {
		name string
		in   ttlv.Struct
		// want: per top-level item, the tags it holds after the rewrite.
		want [][]int
	}{
		{"profile information gets a profile version", ttlv.Struct{
			{Tag: kmip.TagProfileInformation, Value: ttlv.Struct{{Tag: kmip.TagProfileName, Value: ttlv.Enum(ProfileNameBaselineServer)}}},
		}, [][]int{{kmip.TagProfileName, TagProfileVersion}}},
		{"a profile version is not doubled", ttlv.Struct{
			{Tag: kmip.TagProfileInformation, Value: ttlv.Struct{
				{Tag: kmip.TagProfileName, Value: ttlv.Enum(ProfileNameBaselineServer)},
				{Tag: TagProfileVersion, Value: ttlv.Struct{}},
			}},
		}, [][]int{{kmip.TagProfileName, TagProfileVersion}}},
		{"capability information gets quantum safe", ttlv.Struct{
			{Tag: kmip.TagCapabilityInformation, Value: ttlv.Struct{{Tag: kmip.TagStreamingCapability, Value: true}}},
		}, [][]int{{kmip.TagStreamingCapability, TagQuantumSafeCapability}}},
		{"other items are kept", ttlv.Struct{
			{Tag: kmip.TagOperation, Value: ttlv.Enum(kmip.OperationQuery)},
		}, [][]int{nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := queryResponse(tc.in)
			if len(out) != len(tc.want) {
				t.Fatalf("%d items, want %d", len(out), len(tc.want))
			}
			for i, want := range tc.want {
				s, _ := out[i].Value.(ttlv.Struct)
				var got []int
				for _, v := range s {
					got = append(got, v.Tag)
				}
				if len(got) != len(want) {
					t.Fatalf("item %d holds %x, want %x", i, got, want)
				}
				for j := range want {
					if got[j] != want[j] {
						t.Fatalf("item %d holds %x, want %x", i, got, want)
					}
				}
			}
		})
	}
	t.Run("profile version is 2.1", func(t *testing.T) {
		out := queryResponse(ttlv.Struct{{Tag: kmip.TagProfileInformation, Value: ttlv.Struct{}}})
		pv := structOf(child(structOf(&out[0]), TagProfileVersion))
		if child(pv, TagProfileVersionMajor).Value != int32(2) || child(pv, TagProfileVersionMinor).Value != int32(1) {
			t.Fatalf("profile version %v", pv)
		}
	})
}

func TestItemState(t *testing.T) {
	_, tr, err := Request(ttlv.MarshalTTLV(ttlv.Value{Tag: kmip.TagRequestMessage, Value: ttlv.Struct{
		{Tag: kmip.TagRequestHeader, Value: ttlv.Struct{
			{Tag: kmip.TagProtocolVersion, Value: ttlv.Struct{
				{Tag: kmip.TagProtocolVersionMajor, Value: int32(2)},
				{Tag: kmip.TagProtocolVersionMinor, Value: int32(1)},
			}},
			{Tag: kmip.TagBatchCount, Value: int32(1)},
		}},
		{Tag: kmip.TagBatchItem, Value: ttlv.Struct{
			{Tag: kmip.TagOperation, Value: ttlv.Enum(kmip.OperationPoll)},
			{Tag: kmip.TagRequestPayload, Value: ttlv.Struct{{Tag: kmip.TagAsynchronousCorrelationValue, Value: []byte{1}}}},
		}},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		state ItemState
		want  kmip.Operation
	}{
		{"a 1.x result", ItemOf(kmip.OperationGetAttributeList), kmip.OperationGetAttributeList},
		{"out of range is ignored", ItemState{}, kmip.OperationGetAttributeList},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr.SetItem(i, tc.state) // the second call is out of range
			if got := tr.Item(0).s.op; got != tc.want {
				t.Fatalf("item 0 translates as %v, want %v", got, tc.want)
			}
		})
	}
	if (*Translation)(nil).Item(0).s.op != 0 {
		t.Fatal("nil translation has an item")
	}
}
