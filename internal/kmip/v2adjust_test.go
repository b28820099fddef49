package kmip

import (
	"context"
	"crypto/x509"
	"math"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// message2 is a 2.x request message with header fields after the batch
// count (e.g. a Batch Error Continuation Option).
func message2(v kmip.ProtocolVersion, header []ttlv.Value, items ...ttlv.Value) []byte {
	h := ttlv.Struct{
		{Tag: kmip.TagProtocolVersion, Value: ttlv.Struct{
			{Tag: kmip.TagProtocolVersionMajor, Value: v.ProtocolVersionMajor},
			{Tag: kmip.TagProtocolVersionMinor, Value: v.ProtocolVersionMinor},
		}},
	}
	h = append(h, header...)
	h = append(h, ttlv.Value{Tag: kmip.TagBatchCount, Value: int32(len(items))})
	return ttlv.MarshalTTLV(ttlv.Value{Tag: kmip.TagRequestMessage, Value: append(ttlv.Struct{{Tag: kmip.TagRequestHeader, Value: h}}, items...)})
}

// sendAs sends a raw request as peer and decodes the generic response.
func sendAs(t *testing.T, r *Router, peer Peer, msg []byte) ttlv.Struct {
	t.Helper()
	var resp ttlv.Value
	if err := ttlv.UnmarshalTTLV(r.HandleMessage(context.Background(), peer, msg), &resp); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	s, _ := resp.Value.(ttlv.Struct)
	return s
}

// adjust is an Adjust Attribute batch item; by may be nil.
func adjust(id string, ref ttlv.Value, typ kmip2.AdjustmentType, by any) ttlv.Value {
	p := []ttlv.Value{
		{Tag: kmip.TagUniqueIdentifier, Value: id},
		ref,
		{Tag: kmip2.TagAdjustmentType, Value: ttlv.Enum(typ)},
	}
	if by != nil {
		p = append(p, ttlv.Value{Tag: kmip2.TagAdjustmentValue, Value: by})
	}
	return item2(kmip2.OperationAdjustAttribute, p...)
}

// ref is the Attribute Reference of a 2.x attribute tag.
func ref(tag int) ttlv.Value {
	return ttlv.Value{Tag: kmip2.TagAttributeReference, Value: ttlv.Enum(tag)}
}

// vendorRef is the Attribute Reference of the client attribute "x-name".
func vendorRef(name string) ttlv.Value {
	return ttlv.Value{Tag: kmip2.TagAttributeReference, Value: ttlv.Struct{
		{Tag: kmip.TagVendorIdentification, Value: "x"},
		{Tag: kmip.TagAttributeName, Value: name},
	}}
}

// attr2 reads one attribute of an object through a 2.1 Get Attributes:
// the value of the attribute item, or of a vendor attribute's Attribute
// Value.
func attr2(t *testing.T, r *Router, id string, reference ttlv.Value) any {
	t.Helper()
	resp := send2(t, r, kmip.V2_1, item2(kmip.OperationGetAttributes, ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id}, reference))
	attrs := sub(find(sub(find(items(resp)[0], kmip.TagResponsePayload)), kmip2.TagAttributes))
	if len(attrs) != 1 {
		t.Fatalf("got %d attributes: %v", len(attrs), attrs)
	}
	if attrs[0].Tag == kmip.TagAttribute {
		return find(sub(&attrs[0]), kmip.TagAttributeValue).Value
	}
	return attrs[0].Value
}

// TestV2AdjustAttribute runs its steps in order against one object.
func TestV2AdjustAttribute(t *testing.T) {
	r := newTestRouter(t)
	id := create2(t, r, "v2-adjust")
	uid := ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id}
	deactivation := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	inc, dec, neg := kmip2.AdjustmentTypeIncrement, kmip2.AdjustmentTypeDecrement, kmip2.AdjustmentTypeNegate
	steps := []struct {
		name       string
		v          kmip.ProtocolVersion
		item       ttlv.Value
		wantReason kmip.ResultReason // zero: success
		read       ttlv.Value        // attribute to read after the step, if any
		want       any
	}{
		{"absent integer counts as 0", kmip.V2_1, adjust(id, vendorRef("Counter"), inc, int32(5)), 0, vendorRef("Counter"), int32(5)},
		{"decrement", kmip.V2_1, adjust(id, vendorRef("Counter"), dec, int32(2)), 0, vendorRef("Counter"), int32(3)},
		{"negate an integer", kmip.V2_0, adjust(id, vendorRef("Counter"), neg, nil), 0, vendorRef("Counter"), int32(-3)},
		{"integer overflow", kmip.V2_1, adjust(id, vendorRef("Counter"), dec, int32(math.MaxInt32)),
			kmip2.ResultReasonNumericRange, vendorRef("Counter"), int32(-3)},
		{"long integer", kmip.V2_1, adjust(id, vendorRef("Total"), inc, int64(1)<<40), 0, vendorRef("Total"), int64(1) << 40},
		{"big integer", kmip.V2_1, adjust(id, vendorRef("Huge"), dec, big.NewInt(7)), 0, vendorRef("Huge"), big.NewInt(-7)},
		{"interval", kmip.V2_1, adjust(id, vendorRef("Period"), inc, 90*time.Second), 0, vendorRef("Period"), 90 * time.Second},
		{"interval below zero", kmip.V2_1, adjust(id, vendorRef("Period"), dec, 91*time.Second),
			kmip2.ResultReasonNumericRange, vendorRef("Period"), 90 * time.Second},
		{"absent boolean counts as false", kmip.V2_1, adjust(id, vendorRef("Flag"), neg, nil), 0, vendorRef("Flag"), true},
		{"a boolean cannot be incremented", kmip.V2_1, adjust(id, vendorRef("Flag"), inc, int32(1)),
			kmip2.ResultReasonInvalidDataType, vendorRef("Flag"), true},
		{"an integer cannot take an interval", kmip.V2_1, adjust(id, vendorRef("Counter"), inc, time.Second),
			kmip2.ResultReasonInvalidDataType, vendorRef("Counter"), int32(-3)},
		{"negate takes no value", kmip.V2_1, adjust(id, vendorRef("Counter"), neg, int32(1)),
			kmip.ResultReasonInvalidField, vendorRef("Counter"), int32(-3)},
		{"increment needs a value", kmip.V2_1, adjust(id, vendorRef("Counter"), inc, nil),
			kmip.ResultReasonInvalidField, vendorRef("Counter"), int32(-3)},
		{"unknown adjustment type", kmip.V2_1, adjust(id, vendorRef("Counter"), 9, int32(1)),
			kmip.ResultReasonInvalidField, vendorRef("Counter"), int32(-3)},
		{"read-only attribute", kmip.V2_1, adjust(id, ref(kmip.TagCryptographicLength), inc, int32(8)),
			kmip2.ResultReasonReadOnlyAttribute, ref(kmip.TagCryptographicLength), int32(256)},
		{"derived attribute", kmip.V2_1, adjust(id, ref(kmip2.TagShortUniqueIdentifier), inc, int32(1)),
			kmip2.ResultReasonReadOnlyAttribute, ttlv.Value{}, nil},
		{"text attribute", kmip.V2_1, adjust(id, ref(kmip.TagDescription), inc, int32(1)),
			kmip2.ResultReasonInvalidDataType, ttlv.Value{}, nil},
		{"absent date", kmip.V2_1, adjust(id, ref(kmip.TagDeactivationDate), inc, time.Hour),
			kmip.ResultReasonItemNotFound, ttlv.Value{}, nil},
		{"set a date", kmip.V2_1, item2(kmip2.OperationSetAttribute, uid,
			ttlv.Value{Tag: kmip2.TagNewAttribute, Value: ttlv.Struct{{Tag: kmip.TagDeactivationDate, Value: deactivation}}}),
			0, ref(kmip.TagDeactivationDate), deactivation},
		{"date plus an interval", kmip.V2_1, adjust(id, ref(kmip.TagDeactivationDate), inc, time.Hour),
			0, ref(kmip.TagDeactivationDate), deactivation.Add(time.Hour)},
		{"a date cannot be negated", kmip.V2_1, adjust(id, ref(kmip.TagDeactivationDate), neg, nil),
			kmip2.ResultReasonInvalidDataType, ref(kmip.TagDeactivationDate), deactivation.Add(time.Hour)},
		{"sensitive false to true", kmip.V2_1, adjust(id, ref(kmip.TagSensitive), neg, nil), 0, ref(kmip.TagSensitive), true},
		{"sensitive never back to false", kmip.V2_1, adjust(id, ref(kmip.TagSensitive), neg, nil),
			kmip.ResultReasonPermissionDenied, ref(kmip.TagSensitive), true},
		{"second instance", kmip.V2_1, item2(kmip.OperationAddAttribute, uid, ttlv.Value{Tag: kmip2.TagNewAttribute, Value: ttlv.Struct{{
			Tag: kmip.TagAttribute, Value: ttlv.Struct{
				{Tag: kmip.TagVendorIdentification, Value: "x"},
				{Tag: kmip.TagAttributeName, Value: "Counter"},
				{Tag: kmip.TagAttributeValue, Value: int32(100)},
			}}}}), 0, ttlv.Value{}, nil},
		{"several instances", kmip.V2_1, adjust(id, vendorRef("Counter"), inc, int32(1)),
			kmip2.ResultReasonMultiValuedAttribute, ttlv.Value{}, nil},
		{"activate", kmip.V2_1, item2(kmip.OperationActivate, uid), 0, ttlv.Value{}, nil},
		{"activation date outside pre-active", kmip.V2_1, adjust(id, ref(kmip.TagActivationDate), inc, time.Hour),
			kmip2.ResultReasonWrongKeyLifecycleState, ttlv.Value{}, nil},
		{"missing object", kmip.V2_1, adjust("nope", vendorRef("Counter"), inc, int32(1)), kmip2.ResultReasonObjectNotFound, ttlv.Value{}, nil},
		{"not offered to 1.4", kmip.V1_4, item2(kmip2.OperationAdjustAttribute, uid,
			ttlv.Value{Tag: kmip.TagAttributeName, Value: "x-Counter"},
			ttlv.Value{Tag: kmip2.TagAdjustmentType, Value: ttlv.Enum(inc)},
			ttlv.Value{Tag: kmip2.TagAdjustmentValue, Value: int32(1)}),
			kmip.ResultReasonOperationNotSupported, ttlv.Value{}, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			resp := send2(t, r, s.v, s.item)
			it := items(resp)[0]
			st, reason := status(t, it)
			if s.wantReason == 0 && st != kmip.ResultStatusSuccess || reason != s.wantReason {
				t.Fatalf("got %v %v, want reason %v", st, ttlv.EnumStr(reason), ttlv.EnumStr(s.wantReason))
			}
			if s.wantReason == 0 && s.item.Value.(ttlv.Struct)[0].Value == ttlv.Enum(kmip2.OperationAdjustAttribute) {
				p := sub(find(it, kmip.TagResponsePayload))
				if len(p) != 1 || text(p, kmip.TagUniqueIdentifier) != id {
					t.Fatalf("response payload %v, want the unique identifier only", p)
				}
			}
			if s.read.Tag == 0 {
				return
			}
			got := attr2(t, r, id, s.read)
			if g, ok := got.(*big.Int); ok {
				if g.Cmp(s.want.(*big.Int)) != 0 {
					t.Fatalf("value %v, want %v", g, s.want)
				}
				return
			}
			if tm, ok := got.(time.Time); ok {
				if !tm.Equal(s.want.(time.Time)) {
					t.Fatalf("value %v, want %v", tm, s.want)
				}
				return
			}
			if got != s.want {
				t.Fatalf("value %v (%T), want %v (%T)", got, got, s.want, s.want)
			}
		})
	}
}

// TestV2AdjustAttributeIsAtomic: concurrent increments lose none; each
// one either applied or answered a failure.
func TestV2AdjustAttributeIsAtomic(t *testing.T) {
	r := newTestRouter(t)
	id := create2(t, r, "v2-adjust-atomic")
	const workers, each = 6, 5
	var mu sync.Mutex
	applied := int32(0)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				raw := r.HandleMessage(context.Background(), Peer{}, message2(kmip.V2_1, nil, adjust(id, vendorRef("Hits"), kmip2.AdjustmentTypeIncrement, int32(1))))
				var resp ttlv.Value
				if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
					t.Error(err)
					return
				}
				s, _ := resp.Value.(ttlv.Struct)
				if st, _ := find(items(s)[0], kmip.TagResultStatus).Value.(ttlv.Enum); kmip.ResultStatus(st) == kmip.ResultStatusSuccess {
					mu.Lock()
					applied++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if applied == 0 {
		t.Fatal("no increment applied")
	}
	t.Logf("%d of %d concurrent increments applied", applied, workers*each)
	if got := attr2(t, r, id, vendorRef("Hits")); got != applied {
		t.Fatalf("counter %v after %d applied increments", got, applied)
	}
}

// TestV2AdjustAttributeAccessAndAudit: a read-only principal may not
// adjust, another group's object is not found, and every answer is audited
// as Adjust Attribute on the object.
func TestV2AdjustAttributeAccessAndAudit(t *testing.T) {
	r, mem := auditedRouter(t)
	owner, other, auditor := &x509.Certificate{Raw: []byte("o")}, &x509.Certificate{Raw: []byte("x")}, &x509.Certificate{Raw: []byte("a")}
	owner.Subject.CommonName, other.Subject.CommonName, auditor.Subject.CommonName = "owner", "other", "auditor"
	r.resolver = fakeResolver{by: map[string]devices.Principal{
		"owner":   {Kind: devices.KindDevice, Group: "g1"},
		"other":   {Kind: devices.KindDevice, Group: "g2"},
		"auditor": {Kind: devices.KindAuditor, AllGroups: true, ReadOnly: true},
	}, revoked: map[string]bool{}}
	created := items(sendAs(t, r, Peer{Certificate: owner, ConnID: 1}, message2(kmip.V2_1, nil, item2(kmip.OperationCreate,
		ttlv.Value{Tag: kmip.TagObjectType, Value: ttlv.Enum(kmip.ObjectTypeSymmetricKey)},
		ttlv.Value{Tag: kmip2.TagAttributes, Value: ttlv.Struct{
			{Tag: kmip.TagCryptographicAlgorithm, Value: ttlv.Enum(kmip.CryptographicAlgorithmAES)},
			{Tag: kmip.TagCryptographicLength, Value: int32(128)},
		}}))))[0]
	id := text(sub(find(created, kmip.TagResponsePayload)), kmip.TagUniqueIdentifier)
	if id == "" {
		t.Fatalf("create: %v", created)
	}
	tests := []struct {
		name        string
		cert        *x509.Certificate
		wantReason  kmip.ResultReason
		wantOutcome audit.Outcome
	}{
		{"owner", owner, 0, audit.Success},
		{"other group", other, kmip2.ResultReasonObjectNotFound, audit.Denied},
		{"read-only auditor", auditor, kmip.ResultReasonPermissionDenied, audit.Denied},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem.Reset()
			it := items(sendAs(t, r, Peer{Certificate: tc.cert, ConnID: uint64(10 + i)},
				message2(kmip.V2_1, nil, adjust(id, vendorRef("N"), kmip2.AdjustmentTypeIncrement, int32(1)))))[0]
			if _, reason := status(t, it); reason != tc.wantReason {
				t.Fatalf("reason %v, want %v", ttlv.EnumStr(reason), ttlv.EnumStr(tc.wantReason))
			}
			ev := mem.Events()
			if len(ev) != 1 || ev[0].Operation != "AdjustAttribute" || ev[0].Outcome != tc.wantOutcome ||
				ev[0].Type != audit.TypeLifecycle || !slices.Equal(ev[0].Objects, []string{id}) {
				t.Fatalf("audit events %+v", ev)
			}
		})
	}
}

func TestV2Ping(t *testing.T) {
	r := newTestRouter(t)
	tests := []struct {
		name       string
		v          kmip.ProtocolVersion
		wantReason kmip.ResultReason
	}{
		{"2.1", kmip.V2_1, 0},
		{"2.0 has no ping", kmip.V2_0, kmip.ResultReasonOperationNotSupported},
		{"1.4 has no ping", kmip.V1_4, kmip.ResultReasonOperationNotSupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := items(send2(t, r, tc.v, item2(kmip2.OperationPing)))[0]
			st, reason := status(t, it)
			if reason != tc.wantReason || tc.wantReason == 0 && st != kmip.ResultStatusSuccess {
				t.Fatalf("got %v %v", st, ttlv.EnumStr(reason))
			}
			if p := find(it, kmip.TagResponsePayload); tc.wantReason == 0 && (p == nil || len(sub(p)) != 0) {
				t.Fatalf("ping payload %v, want an empty one", p)
			}
		})
	}
}

// TestV2QueryOperations: Query lists Adjust Attribute to 2.x clients and
// Ping to 2.1 clients only, neither to 1.x clients.
func TestV2QueryOperations(t *testing.T) {
	r := newTestRouter(t)
	tests := []struct {
		v          kmip.ProtocolVersion
		wantAdjust bool
		wantPing   bool
	}{
		{kmip.V2_1, true, true},
		{kmip.V2_0, true, false},
		{kmip.V1_4, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.v.String(), func(t *testing.T) {
			resp := send2(t, r, tc.v, item2(kmip.OperationQuery, ttlv.Value{Tag: kmip.TagQueryFunction, Value: ttlv.Enum(kmip.QueryFunctionOperations)}))
			var ops []kmip.Operation
			for _, v := range sub(find(items(resp)[0], kmip.TagResponsePayload)) {
				if e, ok := v.Value.(ttlv.Enum); ok && v.Tag == kmip.TagOperation {
					ops = append(ops, kmip.Operation(e))
				}
			}
			if got := slices.Contains(ops, kmip2.OperationAdjustAttribute); got != tc.wantAdjust {
				t.Errorf("adjust attribute listed: %v, want %v", got, tc.wantAdjust)
			}
			if got := slices.Contains(ops, kmip2.OperationPing); got != tc.wantPing {
				t.Errorf("ping listed: %v, want %v", got, tc.wantPing)
			}
		})
	}
}
