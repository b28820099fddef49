package kmip

import (
	"bytes"
	"math/big"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/keys"
)

func splitReq(parts, threshold int32, method kmip.SplitKeyMethod) *CreateSplitKeyRequestPayload {
	return &CreateSplitKeyRequestPayload{ObjectType: kmip.ObjectTypeSplitKey, SplitKeyParts: parts,
		SplitKeyThreshold: threshold, SplitKeyMethod: method}
}

func joinReq(ids ...string) *JoinSplitKeyRequestPayload {
	return &JoinSplitKeyRequestPayload{ObjectType: kmip.ObjectTypeSymmetricKey, UniqueIdentifier: ids,
		TemplateAttribute: &kmip.TemplateAttribute{Attribute: []kmip.Attribute{
			{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES},
		}}}
}

func keyMaterial(t *testing.T, it kmip.ResponseBatchItem) []byte {
	t.Helper()
	g, ok := it.ResponsePayload.(*payloads.GetResponsePayload)
	if !ok || it.ResultStatus != kmip.ResultStatusSuccess {
		t.Fatalf("get: %v %s", it.ResultReason, it.ResultMessage)
	}
	kb := keys.KeyBlockOf(g.Object)
	if kb == nil {
		t.Fatalf("get returned %T", g.Object)
	}
	return *kb.KeyValue.Plain.KeyMaterial.Bytes
}

// TestSplitJoinOverKMIP: Create, Create Split Key on the ID placeholder,
// Get of the first part, then Join of three of five parts forms the key
// again and two parts are a Cryptographic Failure; every item is audited.
func TestSplitJoinOverKMIP(t *testing.T) {
	e := newUndoEnv(t)
	resp := roundTrip(t, e.r, kmip.NewRequestMessage(kmip.V1_2,
		aesCreate("split-me"),
		splitReq(5, 3, kmip.SplitKeyMethodPolynomialSharingGF28),
		&payloads.GetRequestPayload{},
	))
	if got := statuses(resp); !slices.Equal(got, []kmip.ResultStatus{0, 0, 0}) {
		t.Fatalf("statuses %v: %+v", got, resp.BatchItem)
	}
	base := resp.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
	parts := resp.BatchItem[1].ResponsePayload.(*CreateSplitKeyResponsePayload).UniqueIdentifier
	if len(parts) != 5 {
		t.Fatalf("%d parts", len(parts))
	}
	g := resp.BatchItem[2].ResponsePayload.(*payloads.GetResponsePayload)
	if sk, ok := g.Object.(*kmip.SplitKey); !ok || g.UniqueIdentifier != parts[0] || sk.KeyPartIdentifier != 1 ||
		sk.SplitKeyParts != 5 || sk.SplitKeyThreshold != 3 || sk.SplitKeyMethod != kmip.SplitKeyMethodPolynomialSharingGF28 {
		t.Fatalf("get of the placeholder: %s %+v", g.UniqueIdentifier, g.Object)
	}

	resp = roundTrip(t, e.r, kmip.NewRequestMessage(kmip.V1_2,
		joinReq(parts[4], parts[0], parts[2]),
		&payloads.GetRequestPayload{},
		&payloads.GetRequestPayload{UniqueIdentifier: base},
	))
	if !bytes.Equal(keyMaterial(t, resp.BatchItem[1]), keyMaterial(t, resp.BatchItem[2])) {
		t.Fatal("the joined key differs from the key split")
	}

	resp = roundTrip(t, e.r, kmip.NewRequestMessage(kmip.V1_2, joinReq(parts[1], parts[3])))
	if it := resp.BatchItem[0]; it.ResultStatus != kmip.ResultStatusOperationFailed || it.ResultReason != kmip.ResultReasonCryptographicFailure {
		t.Fatalf("join of 2 of 3-of-5: %v %v %s", it.ResultStatus, it.ResultReason, it.ResultMessage)
	}

	var splitEv, failedJoin *audit.Event
	for _, ev := range e.mem.Events() {
		switch {
		case ev.Operation == "CreateSplitKey":
			splitEv = &ev
		case ev.Operation == "JoinSplitKey" && ev.Outcome == audit.Failure:
			failedJoin = &ev
		}
	}
	if splitEv == nil || splitEv.Type != audit.TypeKey || !slices.Equal(splitEv.Objects, parts) {
		t.Errorf("Create Split Key event: %+v", splitEv)
	}
	if failedJoin == nil || failedJoin.Type != audit.TypeKey {
		t.Errorf("failed Join Split Key event: %+v", failedJoin)
	}
}

func TestSplitKeyRefusals(t *testing.T) {
	r := newTestRouter(t)
	resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_4, aesCreate("k")))
	base := resp.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
	wrongType := splitReq(3, 2, kmip.SplitKeyMethodPolynomialSharingGF28)
	wrongType.ObjectType = kmip.ObjectTypeSymmetricKey
	withBase := func(p *CreateSplitKeyRequestPayload) *CreateSplitKeyRequestPayload {
		p.UniqueIdentifier = base
		return p
	}
	tests := []struct {
		name string
		req  kmip.OperationPayload
		want kmip.ResultReason
	}{
		{"object type not Split Key", withBase(wrongType), kmip.ResultReasonInvalidField},
		{"GF(2^16)", withBase(splitReq(3, 2, kmip.SplitKeyMethodPolynomialSharingGF216)), kmip.ResultReasonFeatureNotSupported},
		{"threshold above parts", withBase(splitReq(2, 3, kmip.SplitKeyMethodXOR)), kmip.ResultReasonInvalidField},
		{"prime field without a prime", withBase(splitReq(3, 2, kmip.SplitKeyMethodPolynomialSharingPrimeField)), kmip.ResultReasonMissingData},
		{"no such base", &CreateSplitKeyRequestPayload{ObjectType: kmip.ObjectTypeSplitKey, UniqueIdentifier: "nope",
			SplitKeyParts: 2, SplitKeyThreshold: 2, SplitKeyMethod: kmip.SplitKeyMethodXOR}, kmip.ResultReasonItemNotFound},
		{"join nothing", &JoinSplitKeyRequestPayload{ObjectType: kmip.ObjectTypeSymmetricKey}, kmip.ResultReasonMissingData},
		{"join a symmetric key", joinReq(base), kmip.ResultReasonInvalidField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_4, tt.req))
			if it := resp.BatchItem[0]; it.ResultStatus != kmip.ResultStatusOperationFailed || it.ResultReason != tt.want {
				t.Errorf("%v %v %s, want %v", it.ResultStatus, it.ResultReason, it.ResultMessage, tt.want)
			}
		})
	}
}

// TestUndoSplitKey: an Undo batch whose Join fails removes the parts its
// Create Split Key made and the base's Child Links with them.
func TestUndoSplitKey(t *testing.T) {
	e := newUndoEnv(t)
	base := e.create(t, "undo-split")
	before := e.state(t, base)
	resp := e.undoBatch(t,
		&CreateSplitKeyRequestPayload{ObjectType: kmip.ObjectTypeSplitKey, UniqueIdentifier: base,
			SplitKeyParts: 3, SplitKeyThreshold: 3, SplitKeyMethod: kmip.SplitKeyMethodXOR},
		joinReq(), // the ID placeholder: part 1 alone, too few
	)
	U, F := kmip.ResultStatusOperationUndone, kmip.ResultStatusOperationFailed
	if got := statuses(resp); !slices.Equal(got, []kmip.ResultStatus{U, F}) {
		t.Fatalf("statuses %v: %+v", got, resp.BatchItem)
	}
	for _, id := range resp.BatchItem[0].ResponsePayload.(*CreateSplitKeyResponsePayload).UniqueIdentifier {
		if s := e.state(t, id); s.found {
			t.Errorf("part %s survives the undo", id)
		}
	}
	after := e.state(t, base)
	if len(after.obj.AttrAll(kmip.AttributeNameLink)) != len(before.obj.AttrAll(kmip.AttributeNameLink)) {
		t.Errorf("base links %v after undo, %v before", after.obj.AttrAll(kmip.AttributeNameLink), before.obj.AttrAll(kmip.AttributeNameLink))
	}
}

// TestQueryListsSplitKeys: the split key operations from KMIP 1.2, the
// Split Key object type always, PGP Key from 1.2.
func TestQueryListsSplitKeys(t *testing.T) {
	r := newTestRouter(t)
	tests := []struct {
		v            kmip.ProtocolVersion
		ops, pgpKeys bool
	}{
		{kmip.V1_0, false, false}, {kmip.V1_1, false, false}, {kmip.V1_2, true, true}, {kmip.V1_4, true, true},
	}
	for _, tt := range tests {
		q := queryOK(t, r, tt.v, kmip.QueryFunctionOperations, kmip.QueryFunctionObjects)
		if got := slices.Contains(q.Operations, kmip.OperationCreateSplitKey) && slices.Contains(q.Operations, kmip.OperationJoinSplitKey); got != tt.ops {
			t.Errorf("%v: split key operations listed %v, want %v", tt.v, got, tt.ops)
		}
		if !slices.Contains(q.ObjectType, kmip.ObjectTypeSplitKey) {
			t.Errorf("%v: Split Key not listed", tt.v)
		}
		if got := slices.Contains(q.ObjectType, kmip.ObjectTypePGPKey); got != tt.pgpKeys {
			t.Errorf("%v: PGP Key listed %v, want %v", tt.v, got, tt.pgpKeys)
		}
	}
}

// TestPrimeFieldSplitOverKMIP: the Prime Field Size travels as a Big
// Integer in the request and in the parts Get returns.
func TestPrimeFieldSplitOverKMIP(t *testing.T) {
	r := newTestRouter(t)
	prime := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(297))
	req := splitReq(3, 2, kmip.SplitKeyMethodPolynomialSharingPrimeField)
	req.PrimeFieldSize = prime
	resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_4, aesCreate("prime"), req, &payloads.GetRequestPayload{}))
	if got := statuses(resp); !slices.Equal(got, []kmip.ResultStatus{0, 0, 0}) {
		t.Fatalf("statuses %v: %+v", got, resp.BatchItem)
	}
	base := resp.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
	parts := resp.BatchItem[1].ResponsePayload.(*CreateSplitKeyResponsePayload).UniqueIdentifier
	sk, ok := resp.BatchItem[2].ResponsePayload.(*payloads.GetResponsePayload).Object.(*kmip.SplitKey)
	if !ok || sk.PrimeFieldSize == nil || sk.PrimeFieldSize.Cmp(prime) != 0 || len(keyMaterial(t, resp.BatchItem[2])) != 33 {
		t.Fatalf("part 1: %+v", resp.BatchItem[2].ResponsePayload)
	}
	resp = roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_4, joinReq(parts[2], parts[1]), &payloads.GetRequestPayload{},
		&payloads.GetRequestPayload{UniqueIdentifier: base}))
	if !bytes.Equal(keyMaterial(t, resp.BatchItem[1]), keyMaterial(t, resp.BatchItem[2])) {
		t.Fatal("the joined key differs from the key split")
	}
}

// TestPGPKeyRoundTrip: Query lists PGP Key; Register and Get serve one.
func TestPGPKeyRoundTrip(t *testing.T) {
	r := newTestRouter(t)
	material := []byte("-----BEGIN PGP PUBLIC KEY BLOCK----- (opaque to the server)")
	obj := &kmip.PGPKey{PGPKeyVersion: 4, KeyBlock: kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeOpaque,
		KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &material}}}}}
	resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_4,
		&payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypePGPKey, Object: obj},
		&payloads.GetRequestPayload{}))
	if got := statuses(resp); !slices.Equal(got, []kmip.ResultStatus{0, 0}) {
		t.Fatalf("statuses %v: %+v", got, resp.BatchItem)
	}
	g, ok := resp.BatchItem[1].ResponsePayload.(*payloads.GetResponsePayload).Object.(*kmip.PGPKey)
	if !ok || g.PGPKeyVersion != 4 || !bytes.Equal(*g.KeyBlock.KeyValue.Plain.KeyMaterial.Bytes, material) {
		t.Fatalf("get: %+v", resp.BatchItem[1].ResponsePayload)
	}
}
