package kmip

import (
	"bytes"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// query2 sends a 2.x Query and returns its response payload.
func query2(t *testing.T, r *Router, v kmip.ProtocolVersion, header []ttlv.Value, fs ...kmip.QueryFunction) ttlv.Struct {
	t.Helper()
	var p []ttlv.Value
	for _, f := range fs {
		p = append(p, ttlv.Value{Tag: kmip.TagQueryFunction, Value: ttlv.Enum(f)})
	}
	it := one(t, sendAs(t, r, Peer{}, message2(v, header, item2(kmip.OperationQuery, p...))), v)
	if st, reason := status(t, it); st != kmip.ResultStatusSuccess {
		t.Fatalf("query: %v %v", ttlv.EnumStr(st), ttlv.EnumStr(reason))
	}
	return sub(find(it, kmip.TagResponsePayload))
}

// all returns the items of s with the tag.
func all(s ttlv.Struct, tag int) []ttlv.Struct {
	var out []ttlv.Struct
	for i := range s {
		if s[i].Tag == tag {
			out = append(out, sub(&s[i]))
		}
	}
	return out
}

// TestV2QueryProfiles: a 2.x client gets the 2.x profile names whose 2.1
// test cases pass, each with Profile Version 2.1; a 1.x client keeps the
// 1.x names, without a Profile Version.
func TestV2QueryProfiles(t *testing.T) {
	r := newTestRouter(t)
	want := []kmip.ProfileName{
		kmip2.ProfileNameBaselineServer, kmip2.ProfileNameSymmetricKeyLifecycleServer,
		kmip2.ProfileNameAsymmetricKeyLifecycleServer, kmip2.ProfileNameTapeLibraryServer,
		kmip2.ProfileNameStorageArrayWithSelfEncryptingDriveServer, kmip2.ProfileNameOpaqueManagedObjectStoreServer,
	}
	notWant := []kmip.ProfileName{
		kmip2.ProfileNameCompleteServer, kmip2.ProfileNameBasicCryptographicServer, kmip2.ProfileNameHTTPSServer,
		kmip2.ProfileNameSuiteBMinLOS128Server, kmip.ProfileNameBaselineServerTLSV1_2KMIPV1_4,
	}
	for _, v := range []kmip.ProtocolVersion{kmip.V2_0, kmip.V2_1} {
		t.Run(v.String(), func(t *testing.T) {
			infos := all(query2(t, r, v, nil, kmip.QueryFunctionProfiles), kmip.TagProfileInformation)
			var got []kmip.ProfileName
			for _, p := range infos {
				name, _ := find(p, kmip.TagProfileName).Value.(ttlv.Enum)
				got = append(got, kmip.ProfileName(name))
				pv := sub(find(p, kmip2.TagProfileVersion))
				var maj, mnr int32
				if v := find(pv, kmip2.TagProfileVersionMajor); v != nil {
					maj, _ = v.Value.(int32)
				}
				if v := find(pv, kmip2.TagProfileVersionMinor); v != nil {
					mnr, _ = v.Value.(int32)
				}
				if maj != 2 || mnr != 1 {
					t.Errorf("%s: Profile Version %d.%d, want 2.1", ttlv.EnumStr(kmip.ProfileName(name)), maj, mnr)
				}
				if find(p, kmip.TagServerURI) != nil || find(p, kmip.TagServerPort) != nil {
					t.Errorf("%s carries a server address", ttlv.EnumStr(kmip.ProfileName(name)))
				}
			}
			if len(got) != len(want) {
				t.Errorf("got %d profiles, want %d", len(got), len(want))
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("missing %s", ttlv.EnumStr(w))
				}
			}
			for _, n := range notWant {
				if slices.Contains(got, n) {
					t.Errorf("claims %s", ttlv.EnumStr(n))
				}
			}
		})
	}
	t.Run("1.4 keeps the 1.x names", func(t *testing.T) {
		q := queryOK(t, r, kmip.V1_4, kmip.QueryFunctionProfiles)
		for _, p := range q.ProfileInformation {
			if p.ProfileName >= 0x100 {
				t.Errorf("1.4 client gets the 2.x name %s", ttlv.EnumStr(p.ProfileName))
			}
		}
		raw := sendAs(t, r, Peer{}, message2(kmip.V1_4, nil, item2(kmip.OperationQuery, ttlv.Value{Tag: kmip.TagQueryFunction, Value: ttlv.Enum(kmip.QueryFunctionProfiles)})))
		for _, p := range all(sub(find(items(raw)[0], kmip.TagResponsePayload)), kmip.TagProfileInformation) {
			if find(p, kmip2.TagProfileVersion) != nil {
				t.Fatal("1.4 Profile Information carries a Profile Version")
			}
		}
	})
	t.Run("the names print in XML", func(t *testing.T) {
		x := ttlv.MarshalXML(ttlv.Value{Tag: kmip.TagProfileName, Value: ttlv.Enum(kmip2.ProfileNameBaselineServer)})
		if !bytes.Contains(x, []byte(`"BaselineServer"`)) {
			t.Fatalf("XML %s", x)
		}
	})
}

// TestV2QueryCapabilities: a 2.x client gets the Capability Information of
// KMIP 2.1, with its Quantum Safe Capability, and the claims hold for 2.x
// requests.
func TestV2QueryCapabilities(t *testing.T) {
	r := newTestRouter(t)
	for _, v := range []kmip.ProtocolVersion{kmip.V2_0, kmip.V2_1} {
		t.Run(v.String(), func(t *testing.T) {
			caps := all(query2(t, r, v, nil, kmip.QueryFunctionCapabilities), kmip.TagCapabilityInformation)
			if len(caps) != 1 {
				t.Fatalf("%d Capability Information, want 1", len(caps))
			}
			c := caps[0]
			flags := []struct {
				name string
				tag  int
				want bool
			}{
				{"streaming", kmip.TagStreamingCapability, true},
				{"asynchronous", kmip.TagAsynchronousCapability, true},
				{"attestation", kmip.TagAttestationCapability, false},
				{"batch undo", kmip.TagBatchUndoCapability, true},
				{"batch continue", kmip.TagBatchContinueCapability, true},
				{"quantum safe", kmip2.TagQuantumSafeCapability, false},
			}
			for _, f := range flags {
				v := find(c, f.tag)
				if v == nil {
					t.Errorf("%s capability missing", f.name)
					continue
				}
				if got, _ := v.Value.(bool); got != f.want {
					t.Errorf("%s capability = %v, want %v", f.name, got, f.want)
				}
			}
			enums := []struct {
				tag  int
				want uint32
			}{
				{kmip.TagUnwrapMode, uint32(kmip.UnwrapModeProcessed)},
				{kmip.TagDestroyAction, uint32(kmip.DestroyActionKeyMaterialDeleted)},
				{kmip.TagShreddingAlgorithm, uint32(kmip.ShreddingAlgorithmUnsupported)},
				{kmip.TagRNGMode, uint32(kmip.RNGModeSharedInstantiation)},
			}
			for _, e := range enums {
				var got ttlv.Enum
				if v := find(c, e.tag); v != nil {
					got, _ = v.Value.(ttlv.Enum)
				}
				if uint32(got) != e.want {
					t.Errorf("%s = %d, want %d", ttlv.TagString(e.tag), got, e.want)
				}
			}
		})
	}
	// The claims hold for a 2.x client.
	t.Run("asynchronous request pends", func(t *testing.T) {
		p := ttlv.Value{Tag: kmip.TagQueryFunction, Value: ttlv.Enum(kmip.QueryFunctionCapabilities)}
		pendingCV(t, one(t, sendAs(t, r, Peer{}, message2(kmip.V2_1, asyncHeader, item2(kmip.OperationQuery, p))), kmip.V2_1))
	})
	for _, opt := range []kmip.BatchErrorContinuationOption{kmip.BatchErrorContinuationOptionUndo, kmip.BatchErrorContinuationOptionContinue} {
		t.Run(ttlv.EnumStr(opt)+" batch runs", func(t *testing.T) {
			h := []ttlv.Value{{Tag: kmip.TagBatchErrorContinuationOption, Value: ttlv.Enum(opt)}}
			query2(t, r, kmip.V2_1, h, kmip.QueryFunctionOperations)
		})
	}
	t.Run("streaming encrypt opens a stream", func(t *testing.T) {
		id := create2(t, r, "stream2-key")
		if st, reason := status(t, one(t, sendAs(t, r, Peer{}, message2(kmip.V2_1, nil, item2(kmip.OperationActivate, ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id}))), kmip.V2_1)); st != kmip.ResultStatusSuccess {
			t.Fatalf("activate: %v %v", st, ttlv.EnumStr(reason))
		}
		it := one(t, sendAs(t, r, Peer{}, message2(kmip.V2_1, nil, item2(kmip.OperationEncrypt,
			ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
			ttlv.Value{Tag: kmip.TagCryptographicParameters, Value: ttlv.Struct{
				{Tag: kmip.TagBlockCipherMode, Value: ttlv.Enum(kmip.BlockCipherModeCBC)},
				{Tag: kmip.TagPaddingMethod, Value: ttlv.Enum(kmip.PaddingMethodPKCS5)},
			}},
			ttlv.Value{Tag: kmip.TagData, Value: bytes.Repeat([]byte{1}, 16)},
			ttlv.Value{Tag: kmip.TagIVCounterNonce, Value: bytes.Repeat([]byte{7}, 16)},
			ttlv.Value{Tag: kmip.TagInitIndicator, Value: true},
		))), kmip.V2_1)
		if st, reason := status(t, it); st != kmip.ResultStatusSuccess {
			t.Fatalf("encrypt: %v %v", st, ttlv.EnumStr(reason))
		}
		if cv, _ := find(sub(find(it, kmip.TagResponsePayload)), kmip.TagCorrelationValue).Value.([]byte); len(cv) == 0 {
			t.Fatal("no Correlation Value: the stream was not opened")
		}
	})
}
