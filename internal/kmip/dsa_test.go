package kmip

import (
	"bytes"
	"context"

	//lint:ignore SA1019 crypto/dsa only reads back the type crypto/x509 returns for a DSA key
	"crypto/dsa"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip/dsakey"
)

// The DSA key of the KMIP 2.1 vectors BL-M-12-21 and BL-M-13-21.
const (
	dsaP = "fca682ce8e12caba26efccf7110e526db078b05edecbcd1eb4a208f3ae1617ae01f35b91a47e6df63413c5e12ed0899bcd132acd50d99151bdc43ee737592e17"
	dsaQ = "962eddcc369cba8ebb260ee6b6a126d9346e38c5"
	dsaG = "678471b27a9cf44ee91a49c5147db1a9aaf244f05a434d6486931d2d14271b9e35030b71fd73da179069b32e2935630e1c2062354d0da20a6c416e50be794ca4"
	dsaY = "b3cb74d988dea7160a64a4edbb7f70404fa4c08a4208c19d76357a6a9df200cce79faecb22e3419be9b01128cbd998a2d9307101705e4a952462f34728ac5fcf"
	dsaX = "095411d740d2443fa3f97d1ed9a0411bb45e7131"
)

func dsaInt(s string) *big.Int {
	n, _ := new(big.Int).SetString(s, 16)
	return n
}

// dsaRegister is a Register request message of a Transparent DSA key, in
// version v, with g as the generator and Sensitive set when sensitive.
func dsaRegister(v kmip.ProtocolVersion, private bool, g *big.Int, sensitive bool) []byte {
	objTag, objType, format, lastTag, last := kmip.TagPublicKey, kmip.ObjectTypePublicKey, kmip.KeyFormatTypeTransparentDSAPublicKey, kmip.TagY, dsaInt(dsaY)
	if private {
		objTag, objType, format, lastTag, last = kmip.TagPrivateKey, kmip.ObjectTypePrivateKey, kmip.KeyFormatTypeTransparentDSAPrivateKey, kmip.TagX, dsaInt(dsaX)
	}
	var tmpl ttlv.Struct
	if sensitive {
		tmpl = ttlv.Struct{{Tag: kmip.TagAttribute, Value: ttlv.Struct{
			{Tag: kmip.TagAttributeName, Value: string(kmip.AttributeNameSensitive)},
			{Tag: kmip.TagAttributeValue, Value: true},
		}}}
	}
	block := ttlv.Struct{
		{Tag: kmip.TagKeyFormatType, Value: ttlv.Enum(format)},
		{Tag: kmip.TagKeyValue, Value: ttlv.Struct{{Tag: kmip.TagKeyMaterial, Value: ttlv.Struct{
			{Tag: kmip.TagP, Value: dsaInt(dsaP)}, {Tag: kmip.TagQ, Value: dsaInt(dsaQ)},
			{Tag: kmip.TagG, Value: g}, {Tag: lastTag, Value: last},
		}}}},
		{Tag: kmip.TagCryptographicAlgorithm, Value: ttlv.Enum(kmip.CryptographicAlgorithmDSA)},
		{Tag: kmip.TagCryptographicLength, Value: int32(512)},
	}
	msg := ttlv.Value{Tag: kmip.TagRequestMessage, Value: ttlv.Struct{
		{Tag: kmip.TagRequestHeader, Value: ttlv.Struct{
			{Tag: kmip.TagProtocolVersion, Value: ttlv.Struct{
				{Tag: kmip.TagProtocolVersionMajor, Value: v.ProtocolVersionMajor},
				{Tag: kmip.TagProtocolVersionMinor, Value: v.ProtocolVersionMinor},
			}},
			{Tag: kmip.TagBatchCount, Value: int32(1)},
		}},
		{Tag: kmip.TagBatchItem, Value: ttlv.Struct{
			{Tag: kmip.TagOperation, Value: ttlv.Enum(kmip.OperationRegister)},
			{Tag: kmip.TagRequestPayload, Value: ttlv.Struct{
				{Tag: kmip.TagObjectType, Value: ttlv.Enum(objType)},
				{Tag: kmip.TagTemplateAttribute, Value: tmpl},
				{Tag: objTag, Value: ttlv.Struct{{Tag: kmip.TagKeyBlock, Value: block}}},
			}},
		}},
	}}
	return ttlv.MarshalTTLV(msg)
}

// newDSARouter is newTestRouter that also returns the store's file.
func newDSARouter(t *testing.T) (*Router, string) {
	t.Helper()
	sealed := barriertest.New(t)
	db := filepath.Join(sealed.Dir, "keywarden.db")
	m, err := keys.New(keys.Options{Store: sealed.Store, Barrier: sealed.Barrier})
	if err != nil {
		t.Fatal(err)
	}
	return NewRouter(m, nil), db
}

// rawItem sends raw and decodes the answer's first batch item generically.
func rawItem(t *testing.T, r *Router, raw []byte) (kmip.ProtocolVersion, ttlv.Struct) {
	t.Helper()
	var v ttlv.Value
	if err := ttlv.UnmarshalTTLV(r.HandleMessage(context.Background(), Peer{}, raw), &v); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	msg := v.Value.(ttlv.Struct)
	pv := dsaFind(msg, kmip.TagResponseHeader, kmip.TagProtocolVersion)
	ver := kmip.ProtocolVersion{
		ProtocolVersionMajor: dsaFind(pv, kmip.TagProtocolVersionMajor).(int32),
		ProtocolVersionMinor: dsaFind(pv, kmip.TagProtocolVersionMinor).(int32),
	}
	return ver, dsaFind(msg, kmip.TagBatchItem).(ttlv.Struct)
}

// dsaFind follows a path of tags through structures; nil when absent.
func dsaFind(s any, path ...int) any {
	for _, tag := range path {
		st, ok := s.(ttlv.Struct)
		if !ok {
			return nil
		}
		s = nil
		for _, it := range st {
			if it.Tag == tag {
				s = it.Value
				break
			}
		}
	}
	return s
}

func registerDSA(t *testing.T, r *Router, private, sensitive bool) string {
	t.Helper()
	_, it := rawItem(t, r, dsaRegister(kmip.V1_4, private, dsaInt(dsaG), sensitive))
	if dsaFind(it, kmip.TagResultStatus) != ttlv.Enum(kmip.ResultStatusSuccess) {
		t.Fatalf("register refused: %v", dsaFind(it, kmip.TagResultMessage))
	}
	return dsaFind(it, kmip.TagResponsePayload, kmip.TagUniqueIdentifier).(string)
}

func TestDSARegisterAndGet(t *testing.T) {
	r, db := newDSARouter(t)
	tests := []struct {
		name        string
		private     bool
		transparent kmip.KeyFormatType
		der         kmip.KeyFormatType
		valueTag    int
		value       string
		objTag      int
	}{
		{"private key", true, kmip.KeyFormatTypeTransparentDSAPrivateKey, kmip.KeyFormatTypePKCS_8, kmip.TagX, dsaX, kmip.TagPrivateKey},
		{"public key", false, kmip.KeyFormatTypeTransparentDSAPublicKey, kmip.KeyFormatTypeX_509, kmip.TagY, dsaY, kmip.TagPublicKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := registerDSA(t, r, tc.private, false)

			ga := ok[*payloads.GetAttributesResponsePayload](t, r, &payloads.GetAttributesRequestPayload{UniqueIdentifier: id,
				AttributeName: []kmip.AttributeName{kmip.AttributeNameCryptographicAlgorithm, kmip.AttributeNameCryptographicLength}})
			got := map[kmip.AttributeName]any{}
			for _, a := range ga.Attribute {
				got[a.AttributeName] = a.AttributeValue
			}
			if got[kmip.AttributeNameCryptographicAlgorithm] != kmip.CryptographicAlgorithmDSA || got[kmip.AttributeNameCryptographicLength] != int32(512) {
				t.Fatalf("attributes %v", got)
			}

			for _, want := range []kmip.KeyFormatType{0, tc.transparent} {
				get := kmip.NewRequestMessage(kmip.V1_4, &payloads.GetRequestPayload{UniqueIdentifier: id, KeyFormatType: want})
				_, it := rawItem(t, r, ttlv.MarshalTTLV(&get))
				block := dsaFind(it, kmip.TagResponsePayload, tc.objTag, kmip.TagKeyBlock)
				if f := dsaFind(block, kmip.TagKeyFormatType); f != ttlv.Enum(tc.transparent) {
					t.Fatalf("Get format %v: served %v (%v)", want, f, dsaFind(it, kmip.TagResultMessage))
				}
				v, _ := dsaFind(block, kmip.TagKeyValue, kmip.TagKeyMaterial, tc.valueTag).(*big.Int)
				if v == nil || v.Cmp(dsaInt(tc.value)) != 0 || dsaFind(block, kmip.TagKeyValue, kmip.TagAttribute) != nil {
					t.Fatalf("Get format %v: key value %v", want, dsaFind(block, kmip.TagKeyValue))
				}
			}

			resp := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: id, KeyFormatType: tc.der})
			var kb kmip.KeyBlock
			switch o := resp.Object.(type) {
			case *kmip.PrivateKey:
				kb = o.KeyBlock
			case *kmip.PublicKey:
				kb = o.KeyBlock
			}
			der, err := kb.GetBytes()
			if err != nil || kb.KeyFormatType != tc.der || len(kb.KeyValue.Plain.Attribute) != 0 {
				t.Fatalf("Get as %v: %v %v", tc.der, kb.KeyFormatType, err)
			}
			if tc.private {
				k, err := dsakey.ParsePKCS8(der)
				if err != nil || k.X.Cmp(dsaInt(dsaX)) != 0 {
					t.Fatalf("PKCS#8: %v", err)
				}
			} else {
				k, err := x509.ParsePKIXPublicKey(der)
				if pub, isDSA := k.(*dsa.PublicKey); err != nil || !isDSA || pub.Y.Cmp(dsaInt(dsaY)) != 0 {
					t.Fatalf("X.509: %T %v", k, err)
				}
			}

			fails(t, r, &payloads.GetRequestPayload{UniqueIdentifier: id, KeyFormatType: kmip.KeyFormatTypeTransparentRSAPublicKey}, kmip.ResultReasonKeyFormatTypeNotSupported)
			fails(t, r, &payloads.GetRequestPayload{UniqueIdentifier: id, KeyFormatType: kmip.KeyFormatTypePKCS_1}, kmip.ResultReasonKeyFormatTypeNotSupported)
		})
	}
	// Sealed at rest: neither X nor its DER encoding is in the store file.
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	der, err := (&dsakey.PrivateKey{Params: dsakey.Params{P: dsaInt(dsaP), Q: dsaInt(dsaQ), G: dsaInt(dsaG)}, X: dsaInt(dsaX)}).MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, dsaInt(dsaX).Bytes()) || bytes.Contains(raw, der) {
		t.Fatal("the private key is in the store file in the clear")
	}
}

func TestDSARegisterRefusesBadParameters(t *testing.T) {
	r := newTestRouter(t)
	tests := []struct {
		name    string
		version kmip.ProtocolVersion
		g       *big.Int
		want    string
	}{
		{"G of the wrong order, 1.2", kmip.V1_2, big.NewInt(2), "G does not generate a subgroup of order Q"},
		{"G is one, 1.4", kmip.V1_4, big.NewInt(1), "G must lie between 1 and P"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, it := rawItem(t, r, dsaRegister(tc.version, true, tc.g, false))
			if v != tc.version {
				t.Fatalf("answered in %v, want %v", v, tc.version)
			}
			msg, _ := dsaFind(it, kmip.TagResultMessage).(string)
			if dsaFind(it, kmip.TagResultReason) != ttlv.Enum(kmip.ResultReasonInvalidField) || !strings.Contains(msg, tc.want) {
				t.Fatalf("got %v %q, want Invalid Field naming %q", dsaFind(it, kmip.TagResultReason), msg, tc.want)
			}
		})
	}
}

func TestDSAKeyFormatTypeAttributeIsTheRegisteredOne(t *testing.T) {
	r := newTestRouter(t)
	id := registerDSA(t, r, true, false)
	o, err := r.m.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := storedKeyFormat(o.Value); !ok || f != kmip.KeyFormatTypeTransparentDSAPrivateKey {
		t.Fatalf("2.x Key Format Type = %v", f)
	}
}

func TestDSAGetWrapped(t *testing.T) {
	r := newTestRouter(t)
	kek := registerSymmetric(t, r, unhex(t, rfcKEK), keyOpts{mask: kmip.CryptographicUsageWrapKey | kmip.CryptographicUsageUnwrapKey, params: nistWrap()})
	id := registerDSA(t, r, true, false)
	wrap := &kmip.KeyWrappingSpecification{WrappingMethod: kmip.WrappingMethodEncrypt,
		EncryptionKeyInformation: &kmip.EncryptionKeyInformation{UniqueIdentifier: kek,
			CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeAESKeyWrapPadding}}}
	got := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: id, KeyFormatType: kmip.KeyFormatTypePKCS_8, KeyWrappingSpecification: wrap})
	if kb := got.Object.(*kmip.PrivateKey).KeyBlock; kb.KeyFormatType != kmip.KeyFormatTypePKCS_8 || kb.KeyValue == nil || kb.KeyValue.Wrapped == nil {
		t.Fatalf("PKCS#8 not wrapped: %+v", kb)
	}
	// The Transparent form is not wrapped (documented in docs/kmip2.md).
	fails(t, r, &payloads.GetRequestPayload{UniqueIdentifier: id, KeyWrappingSpecification: wrap}, errWrongKeyType.Reason)
}
