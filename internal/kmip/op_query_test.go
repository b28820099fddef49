package kmip

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"
)

// query sends one Query at version v (as a client certificate, so that an
// asynchronous request can be made) and returns the answer.
func query(t *testing.T, r *Router, v kmip.ProtocolVersion, async bool, fs ...kmip.QueryFunction) kmip.ResponseBatchItem {
	t.Helper()
	msg := kmip.NewRequestMessage(v, &payloads.QueryRequestPayload{QueryFunction: fs})
	if async {
		yes := true
		msg.Header.AsynchronousIndicator = &yes
	}
	peer := Peer{Certificate: &x509.Certificate{Raw: []byte("query-client")}, ConnID: 3}
	var resp kmip.ResponseMessage
	if err := ttlv.UnmarshalTTLV(r.HandleMessage(context.Background(), peer, ttlv.MarshalTTLV(&msg)), &resp); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	if len(resp.BatchItem) != 1 {
		t.Fatalf("got %d batch items", len(resp.BatchItem))
	}
	return resp.BatchItem[0]
}

func queryOK(t *testing.T, r *Router, v kmip.ProtocolVersion, fs ...kmip.QueryFunction) *payloads.QueryResponsePayload {
	t.Helper()
	it := query(t, r, v, false, fs...)
	q, ok := it.ResponsePayload.(*payloads.QueryResponsePayload)
	if it.ResultStatus != kmip.ResultStatusSuccess || !ok {
		t.Fatalf("query: %s %s %T", ttlv.EnumStr(it.ResultStatus), it.ResultMessage, it.ResponsePayload)
	}
	return q
}

func TestQueryProfiles(t *testing.T) {
	r := newTestRouter(t)
	tests := []struct {
		name    string
		v       kmip.ProtocolVersion
		want    []kmip.ProfileName
		notWant []kmip.ProfileName
	}{
		{name: "1.4 lists the tape library profile of 1.2 to 1.4 (TC-Q-PROF-1-14)", v: kmip.V1_4,
			want: []kmip.ProfileName{kmip.ProfileNameTapeLibraryServerKMIPV1_2, kmip.ProfileNameTapeLibraryServerKMIPV1_3,
				kmip.ProfileNameTapeLibraryServerKMIPV1_4, kmip.ProfileNameBaselineServerTLSV1_2KMIPV1_4,
				kmip.ProfileNameAdvancedCryptographicServerKMIPV1_4},
			notWant: []kmip.ProfileName{kmip.ProfileNameBaselineServerBasicKMIPV1_4, kmip.ProfileNameBasicCryptographicServerKMIPV1_4,
				kmip.ProfileNameCompleteServerTLSV1_2KMIPV1_4, kmip.ProfileNameSymmetricKeyLifecycleClientKMIPV1_4}},
		{name: "1.3 gets no 1.4 names", v: kmip.V1_3,
			want:    []kmip.ProfileName{kmip.ProfileNameTapeLibraryServerKMIPV1_3, kmip.ProfileNameRNGCryptographicServerKMIPV1_3},
			notWant: []kmip.ProfileName{kmip.ProfileNameTapeLibraryServerKMIPV1_4, kmip.ProfileNameAdvancedCryptographicServerKMIPV1_3}},
		{name: "1.2 has no Profile Information", v: kmip.V1_2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := queryOK(t, r, tc.v, kmip.QueryFunctionProfiles)
			var got []kmip.ProfileName
			for _, p := range q.ProfileInformation {
				if p.ServerURI != "" || p.ServerPort != 0 {
					t.Errorf("%s carries a server address", ttlv.EnumStr(p.ProfileName))
				}
				got = append(got, p.ProfileName)
			}
			if tc.want == nil && len(got) > 0 {
				t.Fatalf("got %d profiles, want none", len(got))
			}
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("missing %s", ttlv.EnumStr(w))
				}
			}
			for _, n := range tc.notWant {
				if slices.Contains(got, n) {
					t.Errorf("claims %s", ttlv.EnumStr(n))
				}
			}
		})
	}
}

func TestQueryCapabilities(t *testing.T) {
	r := newTestRouter(t)
	q := queryOK(t, r, kmip.V1_4, kmip.QueryFunctionCapabilities)
	if len(q.CapabilityInformation) != 1 {
		t.Fatalf("got %d Capability Information, want 1", len(q.CapabilityInformation))
	}
	c := q.CapabilityInformation[0]
	flags := []struct {
		name string
		got  *bool
		want bool
	}{
		{"streaming", c.StreamingCapability, true},
		{"asynchronous", c.AsynchronousCapability, true},
		{"attestation", c.AttestationCapability, false},
		{"batch undo", c.BatchUndoCapability, true},
		{"batch continue", c.BatchContinueCapability, true},
	}
	for _, f := range flags {
		if f.got == nil || *f.got != f.want {
			t.Errorf("%s capability = %v, want %v", f.name, f.got, f.want)
		}
	}
	if c.UnwrapMode != kmip.UnwrapModeProcessed || c.DestroyAction != kmip.DestroyActionKeyMaterialDeleted ||
		c.ShreddingAlgorithm != kmip.ShreddingAlgorithmUnsupported || c.RNGMode != kmip.RNGModeSharedInstantiation {
		t.Errorf("capability information %+v", c)
	}
	// The claims hold: an asynchronous request is answered Operation
	// Pending, and a batch asking Undo is run.
	t.Run("asynchronous request pends", func(t *testing.T) {
		if it := query(t, r, kmip.V1_4, true, kmip.QueryFunctionCapabilities); it.ResultStatus != kmip.ResultStatusOperationPending {
			t.Fatalf("asynchronous query: %s", ttlv.EnumStr(it.ResultStatus))
		}
	})
	t.Run("undo batch runs", func(t *testing.T) {
		msg := kmip.NewRequestMessage(kmip.V1_4, &payloads.QueryRequestPayload{QueryFunction: []kmip.QueryFunction{kmip.QueryFunctionOperations}})
		msg.Header.BatchErrorContinuationOption = kmip.BatchErrorContinuationOptionUndo
		resp := roundTrip(t, r, msg)
		if it := resp.BatchItem[0]; it.ResultStatus != kmip.ResultStatusSuccess {
			t.Fatalf("undo batch: %s %s", ttlv.EnumStr(it.ResultStatus), ttlv.EnumStr(it.ResultReason))
		}
	})
	t.Run("1.2 has no Capability Information", func(t *testing.T) {
		if q := queryOK(t, r, kmip.V1_2, kmip.QueryFunctionCapabilities); len(q.CapabilityInformation) != 0 {
			t.Fatalf("1.2 answer carries %d Capability Information", len(q.CapabilityInformation))
		}
	})
}

func TestQueryRegistrationAndEmptyLists(t *testing.T) {
	r := newTestRouter(t)
	q := queryOK(t, r, kmip.V1_4, kmip.QueryFunctionClientRegistrationMethods, kmip.QueryFunctionValidations,
		kmip.QueryFunctionAttestationTypes, kmip.QueryFunctionApplicationNamespaces, kmip.QueryFunctionExtensionMap)
	want := []kmip.ClientRegistrationMethod{kmip.ClientRegistrationMethodServerPreGenerated, kmip.ClientRegistrationMethodClientGenerated}
	if !slices.Equal(q.ClientRegistrationMethod, want) {
		t.Errorf("client registration methods %v, want %v", q.ClientRegistrationMethod, want)
	}
	if len(q.ValidationInformation)+len(q.AttestationType)+len(q.ApplicationNamespace)+len(q.ExtensionInformation) != 0 {
		t.Errorf("the server asserts nothing of these, got %+v", q)
	}
	if len(q.Operations)+len(q.ObjectType)+len(q.ProfileInformation)+len(q.CapabilityInformation) != 0 {
		t.Errorf("answered what was not asked: %+v", q)
	}
}

// TestNotOfferedAgreesWithQuery keeps NotOfferedOperations and
// NotOfferedObjectTypes apart from what Query lists, at every version, and
// checks that the operations are answered Operation Not Supported.
func TestNotOfferedAgreesWithQuery(t *testing.T) {
	r := newTestRouter(t)
	for _, v := range append(slices.Clone(Versions), Versions2...) {
		t.Run(fmt.Sprintf("%d.%d", v.ProtocolVersionMajor, v.ProtocolVersionMinor), func(t *testing.T) {
			it := query(t, r, v, false, kmip.QueryFunctionOperations, kmip.QueryFunctionObjects)
			q, ok := it.ResponsePayload.(*payloads.QueryResponsePayload)
			if !ok || len(q.Operations) == 0 || len(q.ObjectType) == 0 {
				t.Fatalf("query: %s %+v", ttlv.EnumStr(it.ResultStatus), it.ResponsePayload)
			}
			for _, op := range NotOfferedOperations {
				if slices.Contains(q.Operations, op) {
					t.Errorf("Query lists %s, which is not offered", ttlv.EnumStr(op))
				}
			}
			for _, ot := range NotOfferedObjectTypes {
				if slices.Contains(q.ObjectType, ot) {
					t.Errorf("Query lists %s, which is not offered", ttlv.EnumStr(ot))
				}
			}
		})
	}
	for _, op := range NotOfferedOperations {
		if _, ok := r.ops[op]; ok {
			t.Errorf("%s has a handler but is listed as not offered", ttlv.EnumStr(op))
		}
	}
}
