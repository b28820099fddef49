package wire

import (
	"encoding/binary"
	"math/big"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"
)

// item builds one TTLV item by hand: header, value, zero padding.
func item(tag uint32, typ Type, value []byte) []byte {
	b := []byte{byte(tag >> 16), byte(tag >> 8), byte(tag), byte(typ)}
	b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
	b = append(b, value...)
	return append(b, make([]byte, pad8(len(value)))...)
}

// structure builds a Structure item from already-encoded children.
func structure(tag uint32, children ...[]byte) []byte {
	var v []byte
	for _, c := range children {
		v = append(v, c...)
	}
	return item(tag, TypeStructure, v)
}

func integer(tag uint32, v int32) []byte {
	return item(tag, TypeInteger, binary.BigEndian.AppendUint32(nil, uint32(v)))
}

func enum(tag uint32, v uint32) []byte {
	return item(tag, TypeEnumeration, binary.BigEndian.AppendUint32(nil, v))
}

// Tags used by the hand-built messages.
const (
	tagRequestHeader        = 0x420077
	tagProtocolVersion      = 0x420069
	tagProtocolVersionMajor = 0x42006A
	tagProtocolVersionMinor = 0x42006B
	tagBatchCount           = 0x42000D
	tagBatchItem            = 0x42000F
	tagOperation            = 0x42005C
	tagRequestPayload       = 0x420079
	tagUniqueIdentifier     = 0x420094
)

// handRequest builds a minimal request message: header (version 1.4,
// batch count 1) and one batch item whose payload holds the given items.
func handRequest(op uint32, payload ...[]byte) []byte {
	return structure(TagRequestMessage,
		structure(tagRequestHeader,
			structure(tagProtocolVersion, integer(tagProtocolVersionMajor, 1), integer(tagProtocolVersionMinor, 4)),
			integer(tagBatchCount, 1)),
		structure(tagBatchItem,
			enum(tagOperation, op),
			structure(tagRequestPayload, payload...)))
}

// zeroLengthInteger is the 64-byte message that crashes ovh's decoder: a
// Protocol Version Major Integer with length 0.
func zeroLengthInteger() []byte {
	return structure(TagRequestMessage,
		structure(tagRequestHeader,
			structure(tagProtocolVersion, item(tagProtocolVersionMajor, TypeInteger, nil), integer(tagProtocolVersionMinor, 4)),
			integer(tagBatchCount, 1)))
}

// ovhRequests returns real request messages encoded by ovh/kmip-go.
func ovhRequests(t testing.TB) map[string][]byte {
	t.Helper()
	rsaN := new(big.Int).Lsh(big.NewInt(0xC0FFEE), 1000)
	rsaN.Add(rsaN, big.NewInt(12345))
	negative := big.NewInt(-77)
	symKey := &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType: kmip.KeyFormatTypeRaw,
		KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{
			KeyMaterial: kmip.KeyMaterial{Bytes: &[]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
		}},
		CryptographicAlgorithm: kmip.CryptographicAlgorithmAES,
		CryptographicLength:    128,
	}}
	pubKey := &kmip.PublicKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType: kmip.KeyFormatTypeTransparentRSAPublicKey,
		KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{
			KeyMaterial: kmip.KeyMaterial{TransparentRSAPublicKey: &kmip.TransparentRSAPublicKey{
				Modulus: *rsaN, PublicExponent: *big.NewInt(65537),
			}},
		}},
		CryptographicAlgorithm: kmip.CryptographicAlgorithmRSA,
		CryptographicLength:    1024,
	}}
	privKey := &kmip.PrivateKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType: kmip.KeyFormatTypeTransparentRSAPrivateKey,
		KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{
			KeyMaterial: kmip.KeyMaterial{TransparentRSAPrivateKey: &kmip.TransparentRSAPrivateKey{
				Modulus: *rsaN, PrivateExponent: negative, PublicExponent: big.NewInt(65537),
			}},
		}},
	}}
	ecKey := &kmip.PrivateKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType: kmip.KeyFormatTypeTransparentECPrivateKey,
		KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{
			KeyMaterial: kmip.KeyMaterial{TransparentECPrivateKey: &kmip.TransparentECPrivateKey{
				RecommendedCurve: kmip.RecommendedCurveP_256, D: *big.NewInt(424242),
			}},
		}},
	}}
	attrs := []kmip.Attribute{
		{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES},
		{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: int32(256)},
		{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt},
		{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "tape-0001", NameType: kmip.NameTypeUninterpretedTextString}},
		{AttributeName: "x-barcode", AttributeValue: "VOL001L8"},
	}
	msgs := map[string]kmip.RequestMessage{
		"create": kmip.NewRequestMessage(kmip.V1_4, &payloads.CreateRequestPayload{
			ObjectType: kmip.ObjectTypeSymmetricKey, TemplateAttribute: kmip.TemplateAttribute{Attribute: attrs},
		}),
		"register_symmetric": kmip.NewRequestMessage(kmip.V1_2, &payloads.RegisterRequestPayload{
			ObjectType: kmip.ObjectTypeSymmetricKey, Object: symKey,
		}),
		"register_rsa_public":  kmip.NewRequestMessage(kmip.V1_4, &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypePublicKey, Object: pubKey}),
		"register_rsa_private": kmip.NewRequestMessage(kmip.V1_4, &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypePrivateKey, Object: privKey}),
		"register_ec_private":  kmip.NewRequestMessage(kmip.V1_4, &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypePrivateKey, Object: ecKey}),
		"get":                  kmip.NewRequestMessage(kmip.V1_0, &payloads.GetRequestPayload{UniqueIdentifier: "b2b5e3a1-0000-4000-8000-000000000001"}),
		"locate": kmip.NewRequestMessage(kmip.V1_4, &payloads.LocateRequestPayload{MaximumItems: 10, Attribute: []kmip.Attribute{
			{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeSymmetricKey},
			{AttributeName: kmip.AttributeNameApplicationSpecificInformation, AttributeValue: kmip.ApplicationSpecificInformation{ApplicationNamespace: "LIBRARY-LTO", ApplicationData: "VOL001"}},
		}}),
		"query": kmip.NewRequestMessage(kmip.V1_1, &payloads.QueryRequestPayload{QueryFunction: []kmip.QueryFunction{kmip.QueryFunctionOperations, kmip.QueryFunctionObjects}}),
		"batch": kmip.NewRequestMessage(kmip.V1_4,
			&payloads.ActivateRequestPayload{UniqueIdentifier: "1"},
			&payloads.DestroyRequestPayload{UniqueIdentifier: "2"}),
		"import": kmip.NewRequestMessage(kmip.V1_4, &payloads.ImportRequestPayload{
			UniqueIdentifier: "3", Attribute: []kmip.Attribute{{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeSymmetricKey}}, Object: symKey,
		}),
		"unknown_operation": kmip.NewRequestMessage(kmip.V1_4, kmip.NewUnknownPayload(kmip.Operation(0x7FFF),
			ttlv.Value{Tag: 0x540001, Value: "vendor"}, ttlv.Value{Tag: 0x540002, Value: big.NewInt(-5)})),
	}
	lease := time.Hour
	compromised := time.Unix(1600000000, 0)
	wrappedKey := &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType: kmip.KeyFormatTypeRaw,
		KeyValue:      &kmip.KeyValue{Wrapped: &[]byte{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}},
		KeyWrappingData: &kmip.KeyWrappingData{
			WrappingMethod:           kmip.WrappingMethodEncrypt,
			EncryptionKeyInformation: &kmip.EncryptionKeyInformation{UniqueIdentifier: "kek", CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeNISTKeyWrap}},
			IVCounterNonce:           []byte{1, 2, 3},
		},
	}}
	params := &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeGCM, CryptographicAlgorithm: kmip.CryptographicAlgorithmAES, TagLength: 16}
	more := map[string]kmip.RequestMessage{
		"register_wrapped": kmip.NewRequestMessage(kmip.V1_4, &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypeSymmetricKey, Object: wrappedKey}),
		"create_key_pair": kmip.NewRequestMessage(kmip.V1_4, &payloads.CreateKeyPairRequestPayload{
			CommonTemplateAttribute: &kmip.TemplateAttribute{Attribute: attrs[:2]},
			//lint:ignore SA1019 a KMIP 1.0-1.2 client may still send template names
			PrivateKeyTemplateAttribute: &kmip.TemplateAttribute{Name: []kmip.Name{{NameValue: "priv", NameType: kmip.NameTypeUninterpretedTextString}}},
		}),
		"rekey":          kmip.NewRequestMessage(kmip.V1_4, &payloads.RekeyRequestPayload{UniqueIdentifier: "5", Offset: &lease}),
		"revoke":         kmip.NewRequestMessage(kmip.V1_4, &payloads.RevokeRequestPayload{UniqueIdentifier: "6", RevocationReason: kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeKeyCompromise, RevocationMessage: "lost"}, CompromiseOccurrenceDate: &compromised}),
		"encrypt":        kmip.NewRequestMessage(kmip.V1_4, &payloads.EncryptRequestPayload{UniqueIdentifier: "7", CryptographicParameters: params, Data: []byte("plaintext"), IVCounterNonce: make([]byte, 12)}),
		"get_attributes": kmip.NewRequestMessage(kmip.V1_4, &payloads.GetAttributesRequestPayload{UniqueIdentifier: "8", AttributeName: []kmip.AttributeName{kmip.AttributeNameState, kmip.AttributeNameLink}}),
		"add_attribute": kmip.NewRequestMessage(kmip.V1_4, &payloads.AddAttributeRequestPayload{UniqueIdentifier: "9", Attribute: kmip.Attribute{
			AttributeName: kmip.AttributeNameLink, AttributeValue: kmip.Link{LinkType: kmip.LinkTypePublicKeyLink, LinkedObjectIdentifier: "10"},
		}}),
		"discover_versions": kmip.NewRequestMessage(kmip.V1_1, &payloads.DiscoverVersionsRequestPayload{ProtocolVersion: []kmip.ProtocolVersion{kmip.V1_4, kmip.V1_0}}),
	}
	for name, m := range more {
		msgs[name] = m
	}
	device := kmip.NewRequestMessage(kmip.V1_4, &payloads.ObtainLeaseRequestPayload{UniqueIdentifier: "11"})
	device.Header.Authentication = &kmip.Authentication{Credential: kmip.Credential{
		CredentialType:  kmip.CredentialTypeDevice,
		CredentialValue: kmip.CredentialValue{Device: &kmip.CredentialValueDevice{DeviceSerialNumber: "SN1", DeviceIdentifier: "drive"}},
	}}
	device.Header.BatchOrderOption = new(bool)
	device.Header.MaximumResponseSize = 4096
	device.BatchItem[0].MessageExtension = &kmip.MessageExtension{VendorIdentification: "keywarden", VendorExtension: ttlv.Struct{{Tag: 0x540003, Value: int32(1)}}}
	msgs["device_credential"] = device
	auth := kmip.NewRequestMessage(kmip.V1_4, &payloads.GetRequestPayload{UniqueIdentifier: "4"})
	auth.Header.Authentication = &kmip.Authentication{Credential: kmip.Credential{
		CredentialType:  kmip.CredentialTypeUsernameAndPassword,
		CredentialValue: kmip.CredentialValue{UserPassword: &kmip.CredentialValueUserPassword{Username: "drive", Password: "secret"}},
	}}
	ts := time.Unix(1700000000, 0)
	auth.Header.TimeStamp = &ts
	msgs["authenticated"] = auth
	out := make(map[string][]byte, len(msgs))
	for name, m := range msgs {
		out[name] = ttlv.MarshalTTLV(&m)
	}
	return out
}
