package kmip

import (
	"encoding/hex"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// registerSecret registers a Secret Data object (a password) for Derive Key.
func registerSecret(t *testing.T, r *Router, secret []byte, k keyOpts) string {
	t.Helper()
	obj := &kmip.SecretData{SecretDataType: kmip.SecretDataTypePassword, KeyBlock: kmip.KeyBlock{
		KeyFormatType: kmip.KeyFormatTypeOpaque,
		KeyValue:      &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &secret}}},
	}}
	return register(t, r, kmip.ObjectTypeSecretData, obj, k)
}

// deriveReq is a Derive Key request for bits of typ (an AES key when typ
// is a symmetric key).
func deriveReq(typ kmip.ObjectType, base string, m DerivationMethod, p DerivationParameters, bits int32) *DeriveKeyRequestPayload {
	attrs := []kmip.Attribute{{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: bits}}
	if typ == kmip.ObjectTypeSymmetricKey {
		attrs = append(attrs, kmip.Attribute{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES})
	}
	req := &DeriveKeyRequestPayload{ObjectType: typ, DerivationMethod: m, DerivationParameters: p,
		TemplateAttribute: &kmip.TemplateAttribute{Attribute: attrs}}
	if base != "" {
		req.UniqueIdentifier = []string{base}
	}
	return req
}

func hashParams(h kmip.HashingAlgorithm) *kmip.CryptographicParameters {
	return &kmip.CryptographicParameters{HashingAlgorithm: h}
}

// materialOf returns the key material Get answers for id.
func materialOf(t *testing.T, r *Router, id string) []byte {
	t.Helper()
	got := ok[*payloads.GetResponsePayload](t, r, &payloads.GetRequestPayload{UniqueIdentifier: id})
	kb := keys.KeyBlockOf(got.Object)
	if kb == nil {
		t.Fatalf("Get %s answered a %T", id, got.Object)
	}
	return *kb.KeyValue.Plain.KeyMaterial.Bytes
}

// linksOfType returns the identifiers of id's links of type lt.
func linksOfType(t *testing.T, r *Router, id string, lt kmip.LinkType) []string {
	t.Helper()
	got := ok[*payloads.GetAttributesResponsePayload](t, r, &payloads.GetAttributesRequestPayload{
		UniqueIdentifier: id, AttributeName: []kmip.AttributeName{kmip.AttributeNameLink}})
	var out []string
	for _, a := range got.Attribute {
		if l, isLink := a.AttributeValue.(kmip.Link); isLink && l.LinkType == lt {
			out = append(out, l.LinkedObjectIdentifier)
		}
	}
	return out
}

// TestDeriveKeyKnownAnswers derives through the router with published
// vectors: PBKDF2-HMAC-SHA1 (RFC 6070), PBKDF2-HMAC-SHA256 (RFC 7914
// section 11), HMAC-SHA-256 (RFC 4231 test case 2), SHA-256 (FIPS 180-4
// "abc", and the OASIS TC-DERIVEKEY-1-10 vector's key) and AES-CBC
// encryption (SP 800-38A F.2.1).
func TestDeriveKeyKnownAnswers(t *testing.T) {
	r := newTestRouter(t)
	const mask = kmip.CryptographicUsageDeriveKey | kmip.CryptographicUsageEncrypt
	pbkdf2 := func(h kmip.HashingAlgorithm, salt string, iters int32) DerivationParameters {
		return DerivationParameters{CryptographicParameters: hashParams(h), Salt: []byte(salt), IterationCount: iters}
	}
	tests := []struct {
		name   string
		secret []byte // Secret Data base; else key is an AES key
		key    string
		typ    kmip.ObjectType
		method DerivationMethod
		params DerivationParameters
		want   string
	}{
		{"PBKDF2 SHA-1 RFC 6070 c=1", []byte("password"), "", kmip.ObjectTypeSecretData, DerivationMethodPBKDF2,
			pbkdf2(kmip.HashingAlgorithmSHA_1, "salt", 1), "0c60c80f961f0e71f3a9b524af6012062fe037a6"},
		{"PBKDF2 SHA-1 RFC 6070 c=4096", []byte("password"), "", kmip.ObjectTypeSecretData, DerivationMethodPBKDF2,
			pbkdf2(kmip.HashingAlgorithmSHA_1, "salt", 4096), "4b007901b765489abead49d926f721d065a429c1"},
		{"PBKDF2 SHA-1 RFC 6070 long", []byte("passwordPASSWORDpassword"), "", kmip.ObjectTypeSecretData, DerivationMethodPBKDF2,
			pbkdf2(kmip.HashingAlgorithmSHA_1, "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096),
			"3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038"},
		{"PBKDF2 SHA-1 RFC 6070 NUL", []byte("pass\x00word"), "", kmip.ObjectTypeSymmetricKey, DerivationMethodPBKDF2,
			pbkdf2(kmip.HashingAlgorithmSHA_1, "sa\x00lt", 4096), "56fa6aa75548099dcc37d7f03425e0c3"},
		{"PBKDF2 SHA-256 RFC 7914", []byte("passwd"), "", kmip.ObjectTypeSecretData, DerivationMethodPBKDF2,
			pbkdf2(kmip.HashingAlgorithmSHA_256, "salt", 1),
			"55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"},
		{"HMAC-SHA-256 RFC 4231 case 2", []byte("Jefe"), "", kmip.ObjectTypeSecretData, DerivationMethodHMAC,
			DerivationParameters{CryptographicParameters: hashParams(kmip.HashingAlgorithmSHA_256), DerivationData: []byte("what do ya want for nothing?")},
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"HASH SHA-256 FIPS 180-4 abc", []byte("abc"), "", kmip.ObjectTypeSecretData, DerivationMethodHASH,
			DerivationParameters{CryptographicParameters: hashParams(kmip.HashingAlgorithmSHA_256)},
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"HASH SHA-256 OASIS TC-DERIVEKEY-1-10", nil, "00112233445566778899aabbccddeeff", kmip.ObjectTypeSymmetricKey, DerivationMethodHASH,
			DerivationParameters{CryptographicParameters: hashParams(kmip.HashingAlgorithmSHA_256)},
			"a8faed6abbf35c12a4b26e40f6feb19d"},
		{"ENCRYPT AES-CBC SP 800-38A F.2.1", nil, "2b7e151628aed2a6abf7158809cf4f3c", kmip.ObjectTypeSymmetricKey, DerivationMethodENCRYPT,
			DerivationParameters{CryptographicParameters: &kmip.CryptographicParameters{CryptographicAlgorithm: kmip.CryptographicAlgorithmAES,
				BlockCipherMode: kmip.BlockCipherModeCBC, PaddingMethod: kmip.PaddingMethodNone},
				InitializationVector: unhex(t, "000102030405060708090a0b0c0d0e0f"), DerivationData: unhex(t, "6bc1bee22e409f96e93d7e117393172a")},
			"7649abac8119b246cee98e9b12e9197d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var base string
			if tc.secret != nil {
				base = registerSecret(t, r, tc.secret, keyOpts{mask: mask})
			} else {
				base = registerSymmetric(t, r, unhex(t, tc.key), keyOpts{mask: mask})
			}
			want := unhex(t, tc.want)
			resp := ok[*DeriveKeyResponsePayload](t, r, deriveReq(tc.typ, base, tc.method, tc.params, int32(8*len(want))))
			if got := materialOf(t, r, resp.UniqueIdentifier); !slices.Equal(got, want) {
				t.Fatalf("derived %x, want %x", got, want)
			}
			if got := linksOfType(t, r, resp.UniqueIdentifier, kmip.LinkTypeDerivationBaseObjectLink); !slices.Equal(got, []string{base}) {
				t.Errorf("Derivation Base Object Links of the derived object = %q, want %q", got, base)
			}
			if got := linksOfType(t, r, base, kmip.LinkTypeDerivedKeyLink); !slices.Equal(got, []string{resp.UniqueIdentifier}) {
				t.Errorf("Derived Key Links of the base = %q, want %q", got, resp.UniqueIdentifier)
			}
		})
	}
}

// TestDeriveKeyTruncates: a requested length shorter than the method's
// output takes its leading bytes (OASIS TC-DERIVEKEY-1-10 asks for 128 of
// SHA-256's 256 bits); a longer one is refused.
func TestDeriveKeyTruncates(t *testing.T) {
	r := newTestRouter(t)
	base := registerSecret(t, r, []byte("abc"), keyOpts{mask: kmip.CryptographicUsageDeriveKey})
	p := DerivationParameters{CryptographicParameters: hashParams(kmip.HashingAlgorithmSHA_256)}
	resp := ok[*DeriveKeyResponsePayload](t, r, deriveReq(kmip.ObjectTypeSymmetricKey, base, DerivationMethodHASH, p, 128))
	if got := hex.EncodeToString(materialOf(t, r, resp.UniqueIdentifier)); got != "ba7816bf8f01cfea414140de5dae2223" {
		t.Fatalf("derived %s", got)
	}
	fails(t, r, deriveReq(kmip.ObjectTypeSecretData, base, DerivationMethodHASH, p, 264), kmip.ResultReasonInvalidField)
}

func TestDeriveKeyRefusals(t *testing.T) {
	r := newTestRouter(t)
	const mask = kmip.CryptographicUsageDeriveKey
	good := registerSecret(t, r, []byte("password"), keyOpts{mask: mask})
	preActive := registerSecret(t, r, []byte("password"), keyOpts{mask: mask, inactive: true})
	encryptOnly := registerSecret(t, r, []byte("password"), keyOpts{mask: kmip.CryptographicUsageEncrypt})
	sha256 := DerivationParameters{CryptographicParameters: hashParams(kmip.HashingAlgorithmSHA_256)}
	pbkdf2 := DerivationParameters{CryptographicParameters: hashParams(kmip.HashingAlgorithmSHA_256), Salt: []byte("salt"), IterationCount: 1}
	sd, sk := kmip.ObjectTypeSecretData, kmip.ObjectTypeSymmetricKey
	aes160 := deriveReq(sk, good, DerivationMethodPBKDF2, pbkdf2, 160)
	private := deriveReq(sd, good, DerivationMethodHASH, sha256, 128)
	private.ObjectType = kmip.ObjectTypePrivateKey
	twoBases := deriveReq(sd, good, DerivationMethodHASH, sha256, 128)
	twoBases.UniqueIdentifier = []string{good, good}
	noLength := deriveReq(sd, good, DerivationMethodHASH, sha256, 128)
	noLength.TemplateAttribute = nil
	noAlg := deriveReq(sd, good, DerivationMethodHASH, sha256, 128)
	noAlg.ObjectType = sk
	with := func(f func(p *DerivationParameters)) DerivationParameters {
		p := pbkdf2
		f(&p)
		return p
	}
	tests := []struct {
		name string
		req  *DeriveKeyRequestPayload
		want kmip.ResultReason
	}{
		{"base not Active", deriveReq(sd, preActive, DerivationMethodHASH, sha256, 128), kmip.ResultReasonPermissionDenied},
		{"base without the Derive Key bit", deriveReq(sd, encryptOnly, DerivationMethodHASH, sha256, 128), kmip.ResultReasonPermissionDenied},
		{"no such base", deriveReq(sd, "no-such-object", DerivationMethodHASH, sha256, 128), kmip.ResultReasonItemNotFound},
		{"NIST800-108-C", deriveReq(sd, good, DerivationMethodNIST800_108_C, sha256, 128), kmip.ResultReasonFeatureNotSupported},
		{"NIST800-108-F", deriveReq(sd, good, DerivationMethodNIST800_108_F, sha256, 128), kmip.ResultReasonFeatureNotSupported},
		{"NIST800-108-DPI", deriveReq(sd, good, DerivationMethodNIST800_108_DPI, sha256, 128), kmip.ResultReasonFeatureNotSupported},
		{"method missing", deriveReq(sd, good, 0, sha256, 128), kmip.ResultReasonInvalidField},
		{"HASH with MD5", deriveReq(sd, good, DerivationMethodHASH,
			DerivationParameters{CryptographicParameters: hashParams(kmip.HashingAlgorithmMD5)}, 128), kmip.ResultReasonFeatureNotSupported},
		{"HASH without a hash", deriveReq(sd, good, DerivationMethodHASH, DerivationParameters{}, 128), kmip.ResultReasonInvalidField},
		{"HASH with derivation data", deriveReq(sd, good, DerivationMethodHASH,
			DerivationParameters{CryptographicParameters: sha256.CryptographicParameters, DerivationData: []byte("x")}, 128), kmip.ResultReasonInvalidField},
		{"HMAC with a salt", deriveReq(sd, good, DerivationMethodHMAC,
			DerivationParameters{CryptographicParameters: sha256.CryptographicParameters, DerivationData: []byte("x"), Salt: []byte("s")}, 128), kmip.ResultReasonInvalidField},
		{"HMAC without data", deriveReq(sd, good, DerivationMethodHMAC, sha256, 128), kmip.ResultReasonInvalidField},
		{"PBKDF2 without salt", deriveReq(sd, good, DerivationMethodPBKDF2, with(func(p *DerivationParameters) { p.Salt = nil }), 128), kmip.ResultReasonInvalidField},
		{"PBKDF2 without iterations", deriveReq(sd, good, DerivationMethodPBKDF2, with(func(p *DerivationParameters) { p.IterationCount = 0 }), 128), kmip.ResultReasonInvalidField},
		{"PBKDF2 negative iterations", deriveReq(sd, good, DerivationMethodPBKDF2, with(func(p *DerivationParameters) { p.IterationCount = -1 }), 128), kmip.ResultReasonInvalidField},
		{"PBKDF2 with an IV", deriveReq(sd, good, DerivationMethodPBKDF2, with(func(p *DerivationParameters) { p.InitializationVector = []byte("0123456789abcdef") }), 128), kmip.ResultReasonInvalidField},
		{"ENCRYPT from secret data", deriveReq(sd, good, DerivationMethodENCRYPT, DerivationParameters{
			CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeECB}, DerivationData: make([]byte, 16)}, 128),
			kmip.ResultReasonIllegalOperation},
		{"AES key of 160 bits", aes160, kmip.ResultReasonInvalidField},
		{"length not in whole bytes", deriveReq(sd, good, DerivationMethodHASH, sha256, 127), kmip.ResultReasonInvalidField},
		{"length missing", noLength, kmip.ResultReasonInvalidField},
		{"symmetric key without algorithm", noAlg, kmip.ResultReasonInvalidField},
		{"private key", private, kmip.ResultReasonInvalidField},
		{"two bases", twoBases, kmip.ResultReasonInvalidField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fails(t, r, tc.req, tc.want)
		})
	}
	if got := linksOfType(t, r, good, kmip.LinkTypeDerivedKeyLink); len(got) != 0 {
		t.Fatalf("refused derivations left Derived Key Links %q on the base", got)
	}
}

// TestDeriveKeyEncryptRefusesGCM: GCM's ciphertext without its tag is not
// what an authenticated mode produces.
func TestDeriveKeyEncryptRefusesGCM(t *testing.T) {
	r := newTestRouter(t)
	base := registerSymmetric(t, r, make([]byte, 16), keyOpts{mask: kmip.CryptographicUsageDeriveKey})
	p := DerivationParameters{CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeGCM},
		InitializationVector: make([]byte, 12), DerivationData: make([]byte, 16)}
	fails(t, r, deriveReq(kmip.ObjectTypeSymmetricKey, base, DerivationMethodENCRYPT, p, 128), kmip.ResultReasonFeatureNotSupported)
}

// TestDeriveKeyPlaceholderAndAudit: a batch Register + Derive Key with
// the ID placeholder derives from the registered key, leaves the derived
// key's id in the placeholder, and each item is audited as a key event
// naming its object.
func TestDeriveKeyPlaceholderAndAudit(t *testing.T) {
	r, mem := auditedRouter(t)
	material := unhex(t, "00112233445566778899aabbccddeeff")
	reg := &payloads.RegisterRequestPayload{ObjectType: kmip.ObjectTypeSymmetricKey,
		TemplateAttribute: kmip.TemplateAttribute{Attribute: keyOpts{mask: kmip.CryptographicUsageDeriveKey}.attrs()},
		Object: &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeRaw, CryptographicAlgorithm: kmip.CryptographicAlgorithmAES,
			CryptographicLength: 128, KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &material}}}}}}
	derive := deriveReq(kmip.ObjectTypeSymmetricKey, "", DerivationMethodHASH,
		DerivationParameters{CryptographicParameters: hashParams(kmip.HashingAlgorithmSHA_256)}, 128)
	resp := roundTrip(t, r, kmip.NewRequestMessage(kmip.V1_4, reg, derive, &payloads.GetRequestPayload{}))
	for i, it := range resp.BatchItem {
		if it.ResultStatus != kmip.ResultStatusSuccess {
			t.Fatalf("item %d: %v %s", i, it.ResultReason, it.ResultMessage)
		}
	}
	derived := resp.BatchItem[1].ResponsePayload.(*DeriveKeyResponsePayload).UniqueIdentifier
	if got := resp.BatchItem[2].ResponsePayload.(*payloads.GetResponsePayload).UniqueIdentifier; got != derived {
		t.Fatalf("Get with the placeholder answered %q, want the derived key %q", got, derived)
	}
	var ev *audit.Event
	for _, e := range mem.Events() {
		if e.Operation == "DeriveKey" {
			ev = &e
		}
	}
	if ev == nil || ev.Type != audit.TypeKey || ev.Outcome != audit.Success || !slices.Equal(ev.Objects, []string{derived}) {
		t.Fatalf("Derive Key audit event %+v, want a successful key event naming %s", ev, derived)
	}
	fails(t, r, deriveReq(kmip.ObjectTypeSymmetricKey, "no-such-object", DerivationMethodHASH,
		DerivationParameters{CryptographicParameters: hashParams(kmip.HashingAlgorithmSHA_256)}, 128), kmip.ResultReasonItemNotFound)
	last := mem.Events()[len(mem.Events())-1]
	if last.Operation != "DeriveKey" || last.Outcome == audit.Success || !slices.Equal(last.Objects, []string{"no-such-object"}) {
		t.Fatalf("refused Derive Key audit event %+v", last)
	}
}

// TestDeriveKeyUndone: in a batch with the Undo option, a later failure
// removes the derived key and the base's Derived Key Link.
func TestDeriveKeyUndone(t *testing.T) {
	e := newUndoEnv(t)
	base := registerSymmetric(t, e.r, unhex(t, "00112233445566778899aabbccddeeff"), keyOpts{mask: kmip.CryptographicUsageDeriveKey})
	before := e.state(t, base)
	resp := e.undoBatch(t,
		deriveReq(kmip.ObjectTypeSymmetricKey, base, DerivationMethodHASH,
			DerivationParameters{CryptographicParameters: hashParams(kmip.HashingAlgorithmSHA_256)}, 128),
		missing,
	)
	U, F := kmip.ResultStatusOperationUndone, kmip.ResultStatusOperationFailed
	if got, want := statuses(resp), []kmip.ResultStatus{U, F}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	derived := resp.BatchItem[0].ResponsePayload.(*DeriveKeyResponsePayload).UniqueIdentifier
	if s := e.state(t, derived); s.found || len(s.index) != 0 {
		t.Fatalf("after undo: derived key found %v, %d index entries", s.found, len(s.index))
	}
	if got := linksOfType(t, e.r, base, kmip.LinkTypeDerivedKeyLink); len(got) != 0 {
		t.Fatalf("after undo the base keeps Derived Key Links %q", got)
	}
	if after := e.state(t, base); !slices.EqualFunc(after.index, before.index, slices.Equal) {
		t.Fatalf("after undo the base's index entries changed")
	}
}

// TestDeriveKeyV21: a KMIP 2.1 Derive Key (Attributes in place of the
// Template-Attribute) derives the same key as the OASIS 1.4 vector.
func TestDeriveKeyV21(t *testing.T) {
	r := newTestRouter(t)
	base := registerSymmetric(t, r, unhex(t, "00112233445566778899aabbccddeeff"), keyOpts{mask: kmip.CryptographicUsageDeriveKey})
	resp := send2(t, r, kmip.V2_1, item2(kmip.OperationDeriveKey,
		ttlv.Value{Tag: kmip.TagObjectType, Value: ttlv.Enum(kmip.ObjectTypeSymmetricKey)},
		ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: base},
		ttlv.Value{Tag: kmip.TagDerivationMethod, Value: ttlv.Enum(DerivationMethodHASH)},
		ttlv.Value{Tag: kmip.TagDerivationParameters, Value: ttlv.Struct{
			{Tag: kmip.TagCryptographicParameters, Value: ttlv.Struct{
				{Tag: kmip.TagHashingAlgorithm, Value: ttlv.Enum(kmip.HashingAlgorithmSHA_256)},
			}},
		}},
		ttlv.Value{Tag: kmip2.TagAttributes, Value: ttlv.Struct{
			{Tag: kmip.TagCryptographicAlgorithm, Value: ttlv.Enum(kmip.CryptographicAlgorithmAES)},
			{Tag: kmip.TagCryptographicLength, Value: int32(128)},
		}},
	))
	it := items(resp)
	if len(it) != 1 {
		t.Fatalf("got %d items", len(it))
	}
	if st, reason := status(t, it[0]); st != kmip.ResultStatusSuccess {
		t.Fatalf("Derive Key 2.1: %v %v", st, reason)
	}
	id, _ := find(sub(find(it[0], kmip.TagResponsePayload)), kmip.TagUniqueIdentifier).Value.(string)
	if got := hex.EncodeToString(materialOf(t, r, id)); got != "a8faed6abbf35c12a4b26e40f6feb19d" {
		t.Fatalf("derived %s", got)
	}
}
