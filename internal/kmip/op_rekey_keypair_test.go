package kmip

import (
	"bytes"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

func pairCreate(alg kmip.CryptographicAlgorithm, bits int32, name string) *payloads.CreateKeyPairRequestPayload {
	named := func(n string, mask kmip.CryptographicUsageMask) *kmip.TemplateAttribute {
		return &kmip.TemplateAttribute{Attribute: []kmip.Attribute{
			{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: n, NameType: kmip.NameTypeUninterpretedTextString}},
			{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: mask},
		}}
	}
	return &payloads.CreateKeyPairRequestPayload{
		CommonTemplateAttribute: &kmip.TemplateAttribute{Attribute: []kmip.Attribute{
			{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: alg},
			{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: bits},
		}},
		PrivateKeyTemplateAttribute: named(name+"-priv", kmip.CryptographicUsageSign),
		PublicKeyTemplateAttribute:  named(name+"-pub", kmip.CryptographicUsageVerify),
	}
}

// links returns the Link attributes of id in order.
func links(t *testing.T, r *Router, id string) []kmip.Link {
	t.Helper()
	ga := ok[*payloads.GetAttributesResponsePayload](t, r, &payloads.GetAttributesRequestPayload{
		UniqueIdentifier: id, AttributeName: []kmip.AttributeName{kmip.AttributeNameLink}})
	var out []kmip.Link
	for _, a := range ga.Attribute {
		out = append(out, a.AttributeValue.(kmip.Link))
	}
	return out
}

func located(t *testing.T, r *Router, name string) []string {
	t.Helper()
	return ok[*payloads.LocateResponsePayload](t, r, &payloads.LocateRequestPayload{Attribute: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: name, NameType: kmip.NameTypeUninterpretedTextString}},
	}}).UniqueIdentifier
}

func material(t *testing.T, r *Router, id string) []byte {
	t.Helper()
	g := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: id})
	var kb *kmip.KeyBlock
	switch o := g.Object.(type) {
	case *kmip.PrivateKey:
		kb = &o.KeyBlock
	case *kmip.PublicKey:
		kb = &o.KeyBlock
	default:
		t.Fatalf("get %s answered a %T", id, g.Object)
	}
	b, err := kb.GetBytes()
	if err != nil {
		t.Fatalf("key bytes of %s: %v", id, err)
	}
	return b
}

func TestReKeyKeyPair(t *testing.T) {
	tests := []struct {
		name string
		alg  kmip.CryptographicAlgorithm
		bits int32
	}{
		{"RSA 2048", kmip.CryptographicAlgorithmRSA, 2048},
		{"ECDSA P-256", kmip.CryptographicAlgorithmECDSA, 256},
	}
	r := newTestRouter(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kp := ok[*payloads.CreateKeyPairResponsePayload](t, r, pairCreate(tc.alg, tc.bits, tc.name))
			re := ok[*payloads.RekeyKeyPairResponsePayload](t, r, &payloads.RekeyKeyPairRequestPayload{PrivateKeyUniqueIdentifier: kp.PrivateKeyUniqueIdentifier})
			oldPriv, oldPub := kp.PrivateKeyUniqueIdentifier, kp.PublicKeyUniqueIdentifier
			newPriv, newPub := re.PrivateKeyUniqueIdentifier, re.PublicKeyUniqueIdentifier
			if ids := []string{oldPriv, oldPub, newPriv, newPub}; len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 4 {
				t.Fatalf("identifiers not distinct: %v", ids)
			}
			wantLinks := map[string][]kmip.Link{
				newPriv: {{LinkType: kmip.LinkTypePublicKeyLink, LinkedObjectIdentifier: newPub}, {LinkType: kmip.LinkTypeReplacedObjectLink, LinkedObjectIdentifier: oldPriv}},
				newPub:  {{LinkType: kmip.LinkTypePrivateKeyLink, LinkedObjectIdentifier: newPriv}, {LinkType: kmip.LinkTypeReplacedObjectLink, LinkedObjectIdentifier: oldPub}},
				oldPriv: {{LinkType: kmip.LinkTypePublicKeyLink, LinkedObjectIdentifier: oldPub}, {LinkType: kmip.LinkTypeReplacementObjectLink, LinkedObjectIdentifier: newPriv}},
				oldPub:  {{LinkType: kmip.LinkTypePrivateKeyLink, LinkedObjectIdentifier: oldPriv}, {LinkType: kmip.LinkTypeReplacementObjectLink, LinkedObjectIdentifier: newPub}},
			}
			for id, want := range wantLinks {
				if got := links(t, r, id); !slices.Equal(got, want) {
					t.Errorf("links of %s = %+v, want %+v", id, got, want)
				}
			}
			if got := located(t, r, tc.name+"-priv"); !slices.Equal(got, []string{newPriv}) {
				t.Errorf("private name locates %v, want the new key %s", got, newPriv)
			}
			if got := located(t, r, tc.name+"-pub"); !slices.Equal(got, []string{newPub}) {
				t.Errorf("public name locates %v, want the new key %s", got, newPub)
			}
			if bytes.Equal(material(t, r, oldPriv), material(t, r, newPriv)) {
				t.Error("the replacement private key has the old material")
			}
			if bytes.Equal(material(t, r, oldPub), material(t, r, newPub)) {
				t.Error("the replacement public key has the old material")
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		kp := ok[*payloads.CreateKeyPairResponsePayload](t, r, pairCreate(kmip.CryptographicAlgorithmECDSA, 256, "refused"))
		sym := ok[*payloads.CreateResponsePayload](t, r, aesCreate("sym"))
		bad := []struct {
			name   string
			id     string
			reason kmip.ResultReason
		}{
			{"public key", kp.PublicKeyUniqueIdentifier, kmip.ResultReasonInvalidField},
			{"symmetric key", sym.UniqueIdentifier, kmip.ResultReasonInvalidField},
			{"unknown id", "no-such-key", kmip.ResultReasonItemNotFound},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				fails(t, r, &payloads.RekeyKeyPairRequestPayload{PrivateKeyUniqueIdentifier: tc.id}, tc.reason)
			})
		}
	})
	t.Run("query lists it from 1.1", func(t *testing.T) {
		if ops := r.supportedOperations(kmip.V1_1); !slices.Contains(ops, kmip.OperationReKeyKeyPair) {
			t.Errorf("1.1 operations lack Re-key Key Pair: %v", ops)
		}
		if ops := r.supportedOperations(kmip.V1_0); slices.Contains(ops, kmip.OperationReKeyKeyPair) {
			t.Errorf("1.0 operations list Re-key Key Pair")
		}
	})
}
