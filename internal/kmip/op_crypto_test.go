package kmip

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/devices"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// item sends one operation and returns its batch item.
func item(t *testing.T, r *Router, pl kmip.OperationPayload) kmip.ResponseBatchItem {
	t.Helper()
	resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_4, pl))
	if len(resp.BatchItem) != 1 {
		t.Fatalf("got %d batch items", len(resp.BatchItem))
	}
	return resp.BatchItem[0]
}

// ok sends one operation that must succeed and returns its payload.
func ok[T kmip.OperationPayload](t *testing.T, r *Router, pl kmip.OperationPayload) T {
	t.Helper()
	it := item(t, r, pl)
	if it.ResultStatus != kmip.ResultStatusSuccess {
		t.Fatalf("%s: %s: %s", ttlv.EnumStr(pl.Operation()), ttlv.EnumStr(it.ResultReason), it.ResultMessage)
	}
	out, isT := it.ResponsePayload.(T)
	if !isT {
		t.Fatalf("%s answered a %T", ttlv.EnumStr(pl.Operation()), it.ResponsePayload)
	}
	return out
}

// fails sends one operation that must fail with reason.
func fails(t *testing.T, r *Router, pl kmip.OperationPayload, reason kmip.ResultReason) {
	t.Helper()
	it := item(t, r, pl)
	if it.ResultStatus == kmip.ResultStatusSuccess || it.ResultReason != reason {
		t.Fatalf("%s: got %v/%s, want %s", ttlv.EnumStr(pl.Operation()), ttlv.EnumStr(it.ResultStatus), ttlv.EnumStr(it.ResultReason), ttlv.EnumStr(reason))
	}
}

// keyOpts describe a registered key.
type keyOpts struct {
	mask   kmip.CryptographicUsageMask
	alg    kmip.CryptographicAlgorithm
	params *kmip.CryptographicParameters
	// inactive: no Activation Date (the key stays Pre-Active).
	inactive bool
	extra    []kmip.Attribute
}

func (k keyOpts) attrs() []kmip.Attribute {
	a := []kmip.Attribute{{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: k.mask}}
	if !k.inactive {
		a = append(a, kmip.Attribute{AttributeName: kmip.AttributeNameActivationDate, AttributeValue: time.Now().Add(-time.Hour).UTC().Truncate(time.Second)})
	}
	if k.params != nil {
		a = append(a, kmip.Attribute{AttributeName: kmip.AttributeNameCryptographicParameters, AttributeValue: *k.params})
	}
	return append(a, k.extra...)
}

// registerSymmetric registers raw key material.
func registerSymmetric(t *testing.T, r *Router, material []byte, k keyOpts) string {
	t.Helper()
	if k.alg == 0 {
		k.alg = kmip.CryptographicAlgorithmAES
	}
	obj := &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType:          kmip.KeyFormatTypeRaw,
		KeyValue:               &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &material}}},
		CryptographicAlgorithm: k.alg,
		CryptographicLength:    int32(8 * len(material)),
	}}
	return register(t, r, kmip.ObjectTypeSymmetricKey, obj, k)
}

func register(t *testing.T, r *Router, typ kmip.ObjectType, obj kmip.Object, k keyOpts) string {
	t.Helper()
	resp := ok[*payloads.RegisterResponsePayload](t, r, &payloads.RegisterRequestPayload{
		ObjectType: typ, TemplateAttribute: kmip.TemplateAttribute{Attribute: k.attrs()}, Object: obj,
	})
	return resp.UniqueIdentifier
}

func boolp(b bool) *bool { return &b }

// TestSymmetricKnownAnswers checks AES-ECB, AES-CBC, AES-CTR (NIST SP 800-38A
// F.1.1, F.2.1 and F.5.1) and AES-GCM (McGrew–Viega test case 2) through the router.
func TestSymmetricKnownAnswers(t *testing.T) {
	r := newTestRouter(t)
	tests := []struct {
		name, key, iv, plain, cipher, tag string
		params                            kmip.CryptographicParameters
	}{
		{"CBC SP 800-38A F.2.1", "2b7e151628aed2a6abf7158809cf4f3c", "000102030405060708090a0b0c0d0e0f",
			"6bc1bee22e409f96e93d7e117393172a", "7649abac8119b246cee98e9b12e9197d", "",
			kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCBC, PaddingMethod: kmip.PaddingMethodNone}},
		{"ECB SP 800-38A F.1.1", "2b7e151628aed2a6abf7158809cf4f3c", "",
			"6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51", "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf", "",
			kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeECB, PaddingMethod: kmip.PaddingMethodNone}},
		{"CTR SP 800-38A F.5.1", "2b7e151628aed2a6abf7158809cf4f3c", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
			"6bc1bee22e409f96e93d7e117393172a", "874d6191b620e3261bef6864990db6ce", "",
			kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCTR}},
		{"GCM test case 2", "00000000000000000000000000000000", "000000000000000000000000",
			"00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf",
			kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeGCM, TagLength: 16}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := registerSymmetric(t, r, unhex(t, tc.key), keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt})
			params := tc.params
			enc := ok[*payloads.EncryptResponsePayload](t, r, &payloads.EncryptRequestPayload{
				UniqueIdentifier: id, CryptographicParameters: &params, Data: unhex(t, tc.plain), IVCounterNonce: unhex(t, tc.iv),
			})
			if hex.EncodeToString(enc.Data) != tc.cipher || hex.EncodeToString(enc.AuthenticatedEncryptionTag) != tc.tag {
				t.Fatalf("encrypt = %x tag %x, want %s tag %s", enc.Data, enc.AuthenticatedEncryptionTag, tc.cipher, tc.tag)
			}
			dec := ok[*payloads.DecryptResponsePayload](t, r, &payloads.DecryptRequestPayload{
				UniqueIdentifier: id, CryptographicParameters: &params, Data: enc.Data, IVCounterNonce: unhex(t, tc.iv),
				AuthenticatedEncryptionTag: enc.AuthenticatedEncryptionTag,
			})
			if hex.EncodeToString(dec.Data) != tc.plain {
				t.Fatalf("decrypt = %x, want %s", dec.Data, tc.plain)
			}
		})
	}
}

func TestSymmetricParameters(t *testing.T) {
	r := newTestRouter(t)
	key := bytes.Repeat([]byte{7}, 32)
	cbcPad := &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCBC, PaddingMethod: kmip.PaddingMethodPKCS5, RandomIV: boolp(true)}
	id := registerSymmetric(t, r, key, keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt, params: cbcPad})
	msg := []byte("thirteen byte")

	t.Run("object parameters, random IV, PKCS5 round trip", func(t *testing.T) {
		enc := ok[*payloads.EncryptResponsePayload](t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: id, Data: msg})
		if len(enc.IVCounterNonce) != 16 || len(enc.Data) != 16 {
			t.Fatalf("IV %d bytes, data %d bytes; want 16 and 16", len(enc.IVCounterNonce), len(enc.Data))
		}
		dec := ok[*payloads.DecryptResponsePayload](t, r, &payloads.DecryptRequestPayload{UniqueIdentifier: id, Data: enc.Data, IVCounterNonce: enc.IVCounterNonce})
		if !bytes.Equal(dec.Data, msg) {
			t.Fatalf("decrypt = %q", dec.Data)
		}
		again := ok[*payloads.EncryptResponsePayload](t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: id, Data: msg})
		if bytes.Equal(again.IVCounterNonce, enc.IVCounterNonce) {
			t.Fatal("two random IVs are equal")
		}
	})
	t.Run("decrypt without IV", func(t *testing.T) {
		fails(t, r, &payloads.DecryptRequestPayload{UniqueIdentifier: id, Data: make([]byte, 16)}, kmip.ResultReasonInvalidMessage)
	})
	t.Run("bad padding fails the decryption", func(t *testing.T) {
		iv := make([]byte, 16)
		enc := ok[*payloads.EncryptResponsePayload](t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: id, Data: msg, IVCounterNonce: iv})
		enc.Data[15] ^= 0x01
		iv[15] ^= 0x01 // changes the padding byte of the only block
		fails(t, r, &payloads.DecryptRequestPayload{UniqueIdentifier: id, Data: enc.Data, IVCounterNonce: iv}, kmip.ResultReasonCryptographicFailure)
	})
	t.Run("OFB is not offered", func(t *testing.T) {
		fails(t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: id, Data: make([]byte, 16),
			CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeOFB}}, kmip.ResultReasonFeatureNotSupported)
	})
	t.Run("ECB without padding needs whole blocks", func(t *testing.T) {
		fails(t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: id, Data: make([]byte, 15),
			CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeECB}}, kmip.ResultReasonInvalidField)
	})
	t.Run("3DES is not offered", func(t *testing.T) {
		fails(t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: id, Data: make([]byte, 16), IVCounterNonce: make([]byte, 16),
			CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCBC, CryptographicAlgorithm: kmip.CryptographicAlgorithm3DES}}, kmip.ResultReasonFeatureNotSupported)
	})
	gcm := &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeGCM, TagLength: 16}
	nonce := make([]byte, 12)
	aad := []byte("header")
	enc := ok[*payloads.EncryptResponsePayload](t, r, &payloads.EncryptRequestPayload{
		UniqueIdentifier: id, CryptographicParameters: gcm, Data: msg, IVCounterNonce: nonce, AuthenticatedEncryptionAdditionalData: aad,
	})
	tamper := []struct {
		name             string
		data, tag, aad   []byte
		nonce            []byte
		wantPlain        bool
		tagLen, wantFail kmip.ResultReason
	}{
		{name: "GCM intact", data: enc.Data, tag: enc.AuthenticatedEncryptionTag, aad: aad, nonce: nonce, wantPlain: true},
		{name: "GCM tag changed", data: enc.Data, tag: flip(enc.AuthenticatedEncryptionTag, 0), aad: aad, nonce: nonce, wantFail: kmip.ResultReasonCryptographicFailure},
		{name: "GCM data changed", data: flip(enc.Data, 3), tag: enc.AuthenticatedEncryptionTag, aad: aad, nonce: nonce, wantFail: kmip.ResultReasonCryptographicFailure},
		{name: "GCM additional data changed", data: enc.Data, tag: enc.AuthenticatedEncryptionTag, aad: []byte("other"), nonce: nonce, wantFail: kmip.ResultReasonCryptographicFailure},
		{name: "GCM nonce changed", data: enc.Data, tag: enc.AuthenticatedEncryptionTag, aad: aad, nonce: flip(nonce, 0), wantFail: kmip.ResultReasonCryptographicFailure},
		{name: "GCM truncated tag", data: enc.Data, tag: enc.AuthenticatedEncryptionTag[:11], aad: aad, nonce: nonce, wantFail: kmip.ResultReasonCryptographicFailure},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			req := &payloads.DecryptRequestPayload{UniqueIdentifier: id, CryptographicParameters: gcm, Data: tc.data, IVCounterNonce: tc.nonce,
				AuthenticatedEncryptionAdditionalData: tc.aad, AuthenticatedEncryptionTag: tc.tag}
			if !tc.wantPlain {
				fails(t, r, req, tc.wantFail)
				return
			}
			if dec := ok[*payloads.DecryptResponsePayload](t, r, req); !bytes.Equal(dec.Data, msg) {
				t.Fatalf("decrypt = %q", dec.Data)
			}
		})
	}
	t.Run("GCM with a random IV", func(t *testing.T) {
		random := &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeGCM, RandomIV: boolp(true)}
		enc := ok[*payloads.EncryptResponsePayload](t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: id, CryptographicParameters: random, Data: msg, AuthenticatedEncryptionAdditionalData: aad})
		if len(enc.IVCounterNonce) != 12 || len(enc.AuthenticatedEncryptionTag) != 16 || len(enc.Data) != len(msg) {
			t.Fatalf("IV %d, tag %d, data %d bytes", len(enc.IVCounterNonce), len(enc.AuthenticatedEncryptionTag), len(enc.Data))
		}
		dec := ok[*payloads.DecryptResponsePayload](t, r, &payloads.DecryptRequestPayload{UniqueIdentifier: id, CryptographicParameters: gcm, Data: enc.Data,
			IVCounterNonce: enc.IVCounterNonce, AuthenticatedEncryptionAdditionalData: aad, AuthenticatedEncryptionTag: enc.AuthenticatedEncryptionTag})
		if !bytes.Equal(dec.Data, msg) {
			t.Fatalf("decrypt = %q", dec.Data)
		}
	})
	t.Run("GCM tag length out of range", func(t *testing.T) {
		fails(t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: id, Data: msg, IVCounterNonce: nonce,
			CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeGCM, TagLength: 32}}, kmip.ResultReasonGeneralFailure)
	})
	t.Run("streaming MAC is refused", func(t *testing.T) {
		// Encrypt and Decrypt stream (op_crypto_stream_test.go); the others do not.
		fails(t, r, &MACRequestPayload{UniqueIdentifier: id, Data: msg, InitIndicator: boolp(true)}, kmip.ResultReasonFeatureNotSupported)
	})
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x80
	return c
}

// TestCryptoKeyChecks covers what every cryptographic operation checks on
// its key: usage mask, state, dates, usage limits, and the caller's scope.
func TestCryptoKeyChecks(t *testing.T) {
	r := newTestRouter(t)
	key := bytes.Repeat([]byte{1}, 16)
	cbc := &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCBC, PaddingMethod: kmip.PaddingMethodPKCS5}
	iv := make([]byte, 16)
	encOf := func(id string) *payloads.EncryptRequestPayload {
		return &payloads.EncryptRequestPayload{UniqueIdentifier: id, CryptographicParameters: cbc, Data: []byte("data"), IVCounterNonce: iv}
	}
	decryptOnly := registerSymmetric(t, r, key, keyOpts{mask: kmip.CryptographicUsageDecrypt})
	preActive := registerSymmetric(t, r, key, keyOpts{mask: kmip.CryptographicUsageEncrypt, inactive: true})
	stopped := registerSymmetric(t, r, key, keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt, extra: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameProtectStopDate, AttributeValue: time.Now().Add(-time.Minute).UTC().Truncate(time.Second)},
		{AttributeName: kmip.AttributeNameProcessStartDate, AttributeValue: time.Now().Add(time.Hour).UTC().Truncate(time.Second)},
	}})
	limited := registerSymmetric(t, r, key, keyOpts{mask: kmip.CryptographicUsageEncrypt, extra: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameUsageLimits, AttributeValue: kmip.UsageLimits{UsageLimitsTotal: 6, UsageLimitsUnit: kmip.UsageLimitsUnitByte}},
	}})

	t.Run("key without the Encrypt usage mask", func(t *testing.T) {
		it := item(t, r, encOf(decryptOnly))
		if it.ResultReason != kmip.ResultReasonPermissionDenied || it.ResultMessage != "incompatible cryptographic usage mask" {
			t.Fatalf("got %s %q", ttlv.EnumStr(it.ResultReason), it.ResultMessage)
		}
		if e := usageMaskError(kmip.ProtocolVersion{ProtocolVersionMajor: 2}); e.Reason != resultReasonIncompatibleUsageMask {
			t.Fatalf("KMIP 2 reason = %v, want Incompatible Cryptographic Usage Mask", e.Reason)
		}
	})
	t.Run("pre-active key", func(t *testing.T) { fails(t, r, encOf(preActive), kmip.ResultReasonPermissionDenied) })
	t.Run("past the Protect Stop Date", func(t *testing.T) { fails(t, r, encOf(stopped), kmip.ResultReasonPermissionDenied) })
	t.Run("before the Process Start Date", func(t *testing.T) {
		fails(t, r, &payloads.DecryptRequestPayload{UniqueIdentifier: stopped, CryptographicParameters: cbc, Data: make([]byte, 16), IVCounterNonce: iv}, kmip.ResultReasonPermissionDenied)
	})
	t.Run("usage limits in bytes", func(t *testing.T) {
		bad := encOf(limited)
		bad.IVCounterNonce = make([]byte, 5)
		fails(t, r, bad, kmip.ResultReasonInvalidField)            // refused: takes nothing
		ok[*payloads.EncryptResponsePayload](t, r, encOf(limited)) // 4 of 6 bytes
		fails(t, r, encOf(limited), kmip.ResultReasonPermissionDenied)
	})
	t.Run("unknown key", func(t *testing.T) { fails(t, r, encOf("nope"), kmip.ResultReasonItemNotFound) })

	good := registerSymmetric(t, r, key, keyOpts{mask: kmip.CryptographicUsageEncrypt})
	certOther, certAud := &x509.Certificate{Raw: []byte("o")}, &x509.Certificate{Raw: []byte("aud")}
	certOther.Subject.CommonName, certAud.Subject.CommonName = "o", "aud"
	r.resolver = fakeResolver{by: map[string]devices.Principal{
		"o":   {Kind: devices.KindDevice, Group: "other"},
		"aud": {Kind: devices.KindAuditor, AllGroups: true, ReadOnly: true},
	}, revoked: map[string]bool{}}
	as := func(cert *x509.Certificate, conn uint64, pl kmip.OperationPayload) kmip.ResponseBatchItem {
		msg := kmip.NewRequestMessage(kmip.V1_4, pl)
		var resp kmip.ResponseMessage
		if err := ttlv.UnmarshalTTLV(r.HandleMessage(context.Background(), Peer{Certificate: cert, ConnID: conn}, ttlv.MarshalTTLV(&msg)), &resp); err != nil {
			t.Fatal(err)
		}
		return resp.BatchItem[0]
	}
	scoped := []struct {
		name   string
		cert   *x509.Certificate
		pl     kmip.OperationPayload
		reason kmip.ResultReason
	}{
		{"another group's key is not found", certOther, encOf(good), kmip.ResultReasonItemNotFound},
		{"auditor gets no encryption", certAud, encOf(good), kmip.ResultReasonPermissionDenied},
		{"auditor gets no random bytes", certAud, &RNGRetrieveRequestPayload{DataLength: 8}, kmip.ResultReasonPermissionDenied},
		{"auditor gets no MAC", certAud, &MACRequestPayload{UniqueIdentifier: good, Data: []byte("x")}, kmip.ResultReasonPermissionDenied},
	}
	for i, tc := range scoped {
		t.Run(tc.name, func(t *testing.T) {
			if it := as(tc.cert, uint64(100+i), tc.pl); it.ResultStatus == kmip.ResultStatusSuccess || it.ResultReason != tc.reason {
				t.Fatalf("got %s/%s, want %s", ttlv.EnumStr(it.ResultStatus), ttlv.EnumStr(it.ResultReason), ttlv.EnumStr(tc.reason))
			}
		})
	}
}

func TestMACAndRNG(t *testing.T) {
	r := newTestRouter(t)
	// RFC 4231 test case 2.
	id := registerSymmetric(t, r, []byte("Jefe"), keyOpts{alg: kmip.CryptographicAlgorithmHMACSHA256, mask: kmip.CryptographicUsageMACGenerate | kmip.CryptographicUsageMACVerify})
	data := []byte("what do ya want for nothing?")
	want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	mac := ok[*MACResponsePayload](t, r, &MACRequestPayload{UniqueIdentifier: id, Data: data})
	if hex.EncodeToString(mac.MACData) != want {
		t.Fatalf("MAC = %x, want %s", mac.MACData, want)
	}
	verify := []struct {
		name string
		mac  []byte
		want kmip.ValidityIndicator
	}{
		{"valid", mac.MACData, kmip.ValidityIndicatorValid},
		{"changed", flip(mac.MACData, 31), kmip.ValidityIndicatorInvalid},
		{"truncated", mac.MACData[:16], kmip.ValidityIndicatorInvalid},
	}
	for _, tc := range verify {
		t.Run("MAC verify "+tc.name, func(t *testing.T) {
			v := ok[*MACVerifyResponsePayload](t, r, &MACVerifyRequestPayload{UniqueIdentifier: id, Data: data, MACData: tc.mac})
			if v.ValidityIndicator != tc.want {
				t.Fatalf("validity = %s, want %s", ttlv.EnumStr(v.ValidityIndicator), ttlv.EnumStr(tc.want))
			}
		})
	}
	t.Run("HMAC-SHA1 is not offered", func(t *testing.T) {
		fails(t, r, &MACRequestPayload{UniqueIdentifier: id, Data: data, CryptographicParameters: &kmip.CryptographicParameters{CryptographicAlgorithm: kmip.CryptographicAlgorithmHMACSHA1}}, kmip.ResultReasonFeatureNotSupported)
	})
	t.Run("hash SHA-256", func(t *testing.T) {
		h := ok[*HashResponsePayload](t, r, &HashRequestPayload{CryptographicParameters: kmip.CryptographicParameters{HashingAlgorithm: kmip.HashingAlgorithmSHA_256}, Data: []byte("abc")})
		if want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; hex.EncodeToString(h.Data) != want {
			t.Fatalf("hash = %x, want %s", h.Data, want)
		}
		fails(t, r, &HashRequestPayload{CryptographicParameters: kmip.CryptographicParameters{HashingAlgorithm: kmip.HashingAlgorithmMD5}, Data: []byte("abc")}, kmip.ResultReasonFeatureNotSupported)
	})
	t.Run("RNG retrieve", func(t *testing.T) {
		a := ok[*RNGRetrieveResponsePayload](t, r, &RNGRetrieveRequestPayload{DataLength: 32})
		b := ok[*RNGRetrieveResponsePayload](t, r, &RNGRetrieveRequestPayload{DataLength: 32})
		if len(a.Data) != 32 || bytes.Equal(a.Data, b.Data) {
			t.Fatalf("RNG answers %x and %x", a.Data, b.Data)
		}
	})
	for _, n := range []int32{0, -1, maxRNGRetrieve + 1} {
		t.Run("RNG retrieve of a bad length", func(t *testing.T) {
			fails(t, r, &RNGRetrieveRequestPayload{DataLength: n}, kmip.ResultReasonInvalidField)
		})
	}
}
