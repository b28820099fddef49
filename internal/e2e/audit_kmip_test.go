package e2e

import (
	"context"
	"crypto/tls"
	"slices"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/devices"
	kwkmip "github.com/keywarden/keywarden/internal/kmip"
	"github.com/keywarden/keywarden/internal/pki"
)

// kmipStep is one KMIP request of an audit test and the event it must
// produce.
type kmipStep struct {
	name    string
	req     func() kmip.OperationPayload
	want    audit.Outcome
	typ     audit.Type
	object  func() string // an id the event must name; nil: none checked
	label   string        // a label the event must name
	volser  string        // the volser the event must carry
	after   func(t *testing.T, it kmip.ResponseBatchItem)
	errOnly bool // the connection may be closed by the server
}

// runKMIPStep sends one request and checks its one event.
func runKMIPStep(t *testing.T, rec *gatedRecorder, c *kmipClient, fp string, st kmipStep) audit.Event {
	t.Helper()
	pl := st.req()
	var it kmip.ResponseBatchItem
	ev := oneEvent(t, rec, audit.ProtoKMIP, func() {
		var err error
		it, err = c.call(pl)
		if err != nil {
			t.Fatal(err)
		}
	})
	if op := kwkmip.OperationName(pl.Operation()); ev.Operation != op {
		t.Fatalf("event operation %q, want %q", ev.Operation, op)
	}
	if ev.Outcome != st.want {
		t.Fatalf("outcome %s (%s), want %s; answer %v %v %q", ev.Outcome, ev.Reason, st.want, it.ResultStatus, it.ResultReason, it.ResultMessage)
	}
	if (it.ResultStatus == kmip.ResultStatusSuccess) != (ev.Outcome == audit.Success) {
		t.Fatalf("answer %v but event %s", it.ResultStatus, ev.Outcome)
	}
	if ev.Outcome != audit.Success && ev.Reason != it.ResultMessage {
		t.Fatalf("reason %q, want the answer's fixed message %q", ev.Reason, it.ResultMessage)
	}
	if st.typ != "" && ev.Type != st.typ {
		t.Fatalf("type %s, want %s", ev.Type, st.typ)
	}
	if ev.Client.Fingerprint != fp {
		t.Fatalf("client fingerprint %q, want %q", ev.Client.Fingerprint, fp)
	}
	if st.object != nil && !slices.Contains(ev.Objects, st.object()) {
		t.Fatalf("objects %v, want %s among them", ev.Objects, st.object())
	}
	if st.label != "" && !slices.Contains(ev.Labels, st.label) {
		t.Fatalf("labels %v, want %s", ev.Labels, st.label)
	}
	if ev.Volser != st.volser {
		t.Fatalf("volser %q, want %q", ev.Volser, st.volser)
	}
	if ev.Latency <= 0 {
		t.Fatalf("latency %v", ev.Latency)
	}
	if st.after != nil {
		st.after(t, it)
	}
	return ev
}

// material returns the key bytes of a served object.
func material(obj kmip.Object) []byte {
	switch k := obj.(type) {
	case *kmip.SymmetricKey:
		b, _ := k.KeyMaterial()
		return b
	case *kmip.PrivateKey:
		if k.KeyBlock.KeyValue != nil && k.KeyBlock.KeyValue.Plain != nil && k.KeyBlock.KeyValue.Plain.KeyMaterial.Bytes != nil {
			return *k.KeyBlock.KeyValue.Plain.KeyMaterial.Bytes
		}
	}
	return nil
}

func textAttr(name kmip.AttributeName, v string) kmip.Attribute {
	return kmip.Attribute{AttributeName: name, AttributeValue: v}
}

// TestAuditKMIPOperations: every operation the server supports produces
// exactly one event, with the outcome of the answer, the client, the
// objects and labels involved, and no key material.
func TestAuditKMIPOperations(t *testing.T) {
	env, rec := startAudited(t)
	c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
	fp := certFingerprint(t, env.AdminTLS)
	seen := &keyBytes{}
	secret := randomData(t, 32)
	seen.add(secret)
	var id, regID, privID, rekeyID string
	idOf := func() string { return id }
	regOf := func() string { return regID }
	lease := time.Hour

	steps := []kmipStep{
		{name: "DiscoverVersions", req: func() kmip.OperationPayload { return &payloads.DiscoverVersionsRequestPayload{} }, want: audit.Success, typ: audit.TypeQuery},
		{name: "Query", req: func() kmip.OperationPayload {
			return &payloads.QueryRequestPayload{QueryFunction: []kmip.QueryFunction{kmip.QueryFunctionOperations}}
		}, want: audit.Success, typ: audit.TypeQuery},
		{name: "Create", req: func() kmip.OperationPayload { return aesKey("audit-key") }, want: audit.Success, typ: audit.TypeKey,
			label: "audit-key", after: func(t *testing.T, it kmip.ResponseBatchItem) {
				id = it.ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
			}},
		{name: "Register", req: func() kmip.OperationPayload {
			return &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypeSymmetricKey,
				Object: &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{
					KeyFormatType: kmip.KeyFormatTypeRaw, CryptographicAlgorithm: kmip.CryptographicAlgorithmAES, CryptographicLength: 256,
					KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &secret}}},
				}},
				TemplateAttribute: kmip.TemplateAttribute{Attribute: []kmip.Attribute{
					{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt},
					{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "VOL042-key", NameType: kmip.NameTypeUninterpretedTextString}},
					{AttributeName: kmip.AttributeNameApplicationSpecificInformation, AttributeValue: kmip.ApplicationSpecificInformation{ApplicationNamespace: "LIBRARY-LTO", ApplicationData: "VOL042"}},
					{AttributeName: kmip.AttributeNameAlternativeName, AttributeValue: kmip.AlternativeName{AlternativeNameValue: "VOL042L8", AlternativeNameType: kmip.AlternativeNameTypeUninterpretedTextString}},
				}},
			}
		}, want: audit.Success, typ: audit.TypeKey, label: "VOL042-key", volser: "VOL042", after: func(t *testing.T, it kmip.ResponseBatchItem) {
			regID = it.ResponsePayload.(*payloads.RegisterResponsePayload).UniqueIdentifier
		}},
		{name: "CreateKeyPair", req: func() kmip.OperationPayload {
			return &payloads.CreateKeyPairRequestPayload{
				CommonTemplateAttribute: &kmip.TemplateAttribute{Attribute: []kmip.Attribute{
					{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmRSA},
					{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: int32(2048)},
				}},
				PrivateKeyTemplateAttribute: &kmip.TemplateAttribute{Attribute: []kmip.Attribute{
					{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageSign},
				}},
				PublicKeyTemplateAttribute: &kmip.TemplateAttribute{Attribute: []kmip.Attribute{
					{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageVerify},
				}},
			}
		}, want: audit.Success, typ: audit.TypeKey, after: func(t *testing.T, it kmip.ResponseBatchItem) {
			privID = it.ResponsePayload.(*payloads.CreateKeyPairResponsePayload).PrivateKeyUniqueIdentifier
		}},
		{name: "GetAttributes", req: func() kmip.OperationPayload { return &payloads.GetAttributesRequestPayload{UniqueIdentifier: id} },
			want: audit.Success, typ: audit.TypeQuery, object: idOf},
		{name: "GetAttributeList", req: func() kmip.OperationPayload { return &payloads.GetAttributeListRequestPayload{UniqueIdentifier: id} },
			want: audit.Success, typ: audit.TypeQuery, object: idOf},
		{name: "AddAttribute", req: func() kmip.OperationPayload {
			return &payloads.AddAttributeRequestPayload{UniqueIdentifier: id, Attribute: textAttr("x-audit", "one")}
		}, want: audit.Success, typ: audit.TypeLifecycle, object: idOf},
		{name: "ModifyAttribute", req: func() kmip.OperationPayload {
			return &payloads.ModifyAttributeRequestPayload{UniqueIdentifier: id, Attribute: textAttr("x-audit", "two")}
		}, want: audit.Success, typ: audit.TypeLifecycle, object: idOf},
		{name: "DeleteAttribute", req: func() kmip.OperationPayload {
			return &payloads.DeleteAttributeRequestPayload{UniqueIdentifier: id, AttributeName: "x-audit"}
		}, want: audit.Success, typ: audit.TypeLifecycle, object: idOf},
		{name: "Locate", req: func() kmip.OperationPayload {
			return &payloads.LocateRequestPayload{Attribute: []kmip.Attribute{
				{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "audit-key", NameType: kmip.NameTypeUninterpretedTextString}},
			}}
		}, want: audit.Success, typ: audit.TypeQuery, object: idOf, label: "audit-key"},
		{name: "Activate", req: func() kmip.OperationPayload { return &payloads.ActivateRequestPayload{UniqueIdentifier: id} },
			want: audit.Success, typ: audit.TypeLifecycle, object: idOf},
		{name: "Get", req: func() kmip.OperationPayload { return &payloads.GetRequestPayload{UniqueIdentifier: id} },
			want: audit.Success, typ: audit.TypeKey, object: idOf, label: "audit-key", after: func(t *testing.T, it kmip.ResponseBatchItem) {
				k := material(it.ResponsePayload.(*payloads.GetResponsePayload).Object)
				if len(k) != 32 {
					t.Fatalf("Get served %d key bytes", len(k))
				}
				seen.add(k)
			}},
		{name: "Get private key", req: func() kmip.OperationPayload { return &payloads.GetRequestPayload{UniqueIdentifier: privID} },
			want: audit.Success, typ: audit.TypeKey, object: func() string { return privID }, after: func(t *testing.T, it kmip.ResponseBatchItem) {
				seen.add(material(it.ResponsePayload.(*payloads.GetResponsePayload).Object))
			}},
		{name: "Get registered", req: func() kmip.OperationPayload { return &payloads.GetRequestPayload{UniqueIdentifier: regID} },
			want: audit.Success, typ: audit.TypeKey, object: regOf, label: "VOL042-key", volser: "VOL042"},
		{name: "Check", req: func() kmip.OperationPayload { return &kwkmip.CheckRequestPayload{UniqueIdentifier: id} },
			want: audit.Success, typ: audit.TypeQuery, object: idOf},
		{name: "ObtainLease", req: func() kmip.OperationPayload { return &payloads.ObtainLeaseRequestPayload{UniqueIdentifier: id} },
			want: audit.Success, typ: audit.TypeKey, object: idOf},
		{name: "GetUsageAllocation without usage limits", req: func() kmip.OperationPayload {
			return &payloads.GetUsageAllocationRequestPayload{UniqueIdentifier: id, UsageLimitsCount: 1}
		}, want: audit.Failure, typ: audit.TypeKey, object: idOf},
		{name: "ReKey", req: func() kmip.OperationPayload {
			return &payloads.RekeyRequestPayload{UniqueIdentifier: id, Offset: &lease}
		},
			want: audit.Success, typ: audit.TypeKey, after: func(t *testing.T, it kmip.ResponseBatchItem) {
				rekeyID = it.ResponsePayload.(*payloads.RekeyResponsePayload).UniqueIdentifier
				if rekeyID == "" || rekeyID == id {
					t.Fatalf("rekey id %q", rekeyID)
				}
			}},
		{name: "Revoke", req: func() kmip.OperationPayload {
			return &payloads.RevokeRequestPayload{UniqueIdentifier: id, RevocationReason: kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeCessationOfOperation}}
		}, want: audit.Success, typ: audit.TypeLifecycle, object: idOf},
		{name: "Archive", req: func() kmip.OperationPayload { return &payloads.ArchiveRequestPayload{UniqueIdentifier: regID} },
			want: audit.Success, typ: audit.TypeLifecycle, object: regOf},
		{name: "Get archived", req: func() kmip.OperationPayload { return &payloads.GetRequestPayload{UniqueIdentifier: regID} },
			want: audit.Failure, typ: audit.TypeKey, object: regOf},
		{name: "Recover", req: func() kmip.OperationPayload { return &payloads.RecoverRequestPayload{UniqueIdentifier: regID} },
			want: audit.Success, typ: audit.TypeLifecycle, object: regOf},
		{name: "Destroy", req: func() kmip.OperationPayload { return &payloads.DestroyRequestPayload{UniqueIdentifier: regID} },
			want: audit.Success, typ: audit.TypeLifecycle, object: regOf},
		{name: "Get missing", req: func() kmip.OperationPayload {
			return &payloads.GetRequestPayload{UniqueIdentifier: "01a20000-0000-7000-8000-000000000000"}
		}, want: audit.Failure, typ: audit.TypeKey},
		{name: "operation not supported", req: func() kmip.OperationPayload {
			return kmip.NewUnknownPayload(kmip.Operation(0x7F01))
		}, want: audit.Failure},
	}
	covered := map[kmip.Operation]bool{}
	for _, st := range steps {
		covered[st.req().Operation()] = true
		t.Run(st.name, func(t *testing.T) { runKMIPStep(t, rec, c, fp, st) })
	}
	// Operations without a step above (added since) get an empty request:
	// still one event, whatever the answer.
	for _, op := range kwkmip.SupportedOperations() {
		if covered[op] {
			continue
		}
		t.Run(kwkmip.OperationName(op)+" empty request", func(t *testing.T) {
			var it kmip.ResponseBatchItem
			ev := oneEvent(t, rec, audit.ProtoKMIP, func() {
				var err error
				if it, err = c.call(kmip.NewUnknownPayload(op)); err != nil {
					t.Fatal(err)
				}
			})
			// An empty payload the decoder refuses is a malformed message.
			named := ev.Operation == kwkmip.OperationName(op) || ev.Operation == "Message" && ev.Outcome == audit.Failure
			if !named || (it.ResultStatus == kmip.ResultStatusSuccess) != (ev.Outcome == audit.Success) {
				t.Fatalf("event %+v for answer %v %q", ev, it.ResultStatus, it.ResultMessage)
			}
		})
	}
	t.Run("no key material in the trail", func(t *testing.T) {
		seen.assertNotIn(t, rec.Events())
	})
}

// TestAuditKMIPDenialsAndMalformed: denials (read-only role, another
// group's object, an operation the group does not allow, an unknown or a
// revoked certificate) and malformed messages each produce one event.
func TestAuditKMIPDenialsAndMalformed(t *testing.T) {
	env, rec := startAudited(t)
	ctx := context.Background()
	reg := env.Server.Devices()
	admin := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
	id := admin.must(aesKey("denials-key")).(*payloads.CreateResponsePayload).UniqueIdentifier
	admin.must(&payloads.ActivateRequestPayload{UniqueIdentifier: id})

	groupClient := func(name, group string, allowed []string) *tls.Config {
		t.Helper()
		if _, err := reg.CreateGroup(ctx, devices.Group{Name: group, Family: devices.FamilyGeneric, Unknown: devices.PolicyReject, AllowedOps: allowed}); err != nil {
			t.Fatal(err)
		}
		conf := env.IssueClient(t, name, pki.RoleClient)
		if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.FamilyGeneric, Serial: name, Group: group,
			Fingerprints: []string{certFingerprint(t, conf)}}); err != nil {
			t.Fatal(err)
		}
		return conf
	}
	operator := env.IssueClient(t, "audit-operator", pki.RoleOperator)
	other := groupClient("other-group-dev", "OTHER", nil)
	locateOnly := groupClient("locate-only-dev", "LOCATE_ONLY", []string{"Locate"})
	setDefaultPolicy(t, reg, devices.PolicyReject)
	unknown := env.IssueClient(t, "audit-unknown", pki.RoleClient)
	get := func() kmip.OperationPayload { return &payloads.GetRequestPayload{UniqueIdentifier: id} }
	idOf := func() string { return id }

	tests := []struct {
		name string
		conf *tls.Config
		step kmipStep
		role string
	}{
		{"read-only role", operator, kmipStep{req: get, want: audit.Denied, typ: audit.TypeKey, object: idOf}, "operator"},
		{"another group's object", other, kmipStep{req: get, want: audit.Denied, typ: audit.TypeKey, object: idOf}, "device"},
		{"operation the group does not allow", locateOnly, kmipStep{req: get, want: audit.Denied, typ: audit.TypeKey, object: idOf}, "device"},
		{"unknown certificate", unknown, kmipStep{req: get, want: audit.Denied, typ: audit.TypeAuth}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := runKMIPStep(t, rec, dialKMIP(t, env.KMIPAddr, tt.conf), certFingerprint(t, tt.conf), tt.step)
			if ev.Client.Role != tt.role {
				t.Fatalf("role %q, want %q", ev.Client.Role, tt.role)
			}
		})
	}

	t.Run("revoked certificate refused at the handshake", func(t *testing.T) {
		conf := env.IssueClient(t, "audit-revoked", pki.RoleClient)
		if err := reg.Revoke(ctx, devices.RevokedCert{Fingerprint: certFingerprint(t, conf), Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		rec.Reset()
		_ = handshake(env.KMIPAddr, conf)
		ev := waitEvent(t, rec, audit.ProtoKMIP, "Handshake")
		if ev.Outcome != audit.Denied || ev.Type != audit.TypeAuth {
			t.Fatalf("handshake event %+v", ev)
		}
	})

	malformed := []struct {
		name string
		raw  func() []byte
	}{
		{"batch count does not match the items", func() []byte {
			msg := kmip.NewRequestMessage(kmip.V1_4, &payloads.DiscoverVersionsRequestPayload{})
			msg.Header.BatchCount = 3
			return ttlv.MarshalTTLV(&msg)
		}},
		{"not a TTLV structure", func() []byte {
			return []byte{0x42, 0x00, 0x78, 0x02, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0}
		}},
	}
	for _, tt := range malformed {
		t.Run("malformed: "+tt.name, func(t *testing.T) {
			c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
			ev := oneEvent(t, rec, audit.ProtoKMIP, func() {
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if _, err := c.conn.RoundTrip(rctx, tt.raw()); err != nil {
					t.Fatal(err)
				}
			})
			if ev.Operation != "Message" || ev.Outcome != audit.Failure || ev.Client.Fingerprint != certFingerprint(t, env.AdminTLS) {
				t.Fatalf("event %+v", ev)
			}
		})
	}
}
