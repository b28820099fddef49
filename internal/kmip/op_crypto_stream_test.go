package kmip

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"
)

// sendStreamAs sends one operation as the holder of cert, in KMIP version v.
func sendStreamAs(t *testing.T, r *Router, cert *x509.Certificate, v kmip.ProtocolVersion, pl kmip.OperationPayload) kmip.ResponseBatchItem {
	t.Helper()
	msg := kmip.NewRequestMessage(v, pl)
	var resp kmip.ResponseMessage
	if err := ttlv.UnmarshalTTLV(r.HandleMessage(context.Background(), Peer{Certificate: cert, ConnID: 1}, ttlv.MarshalTTLV(&msg)), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItem) != 1 {
		t.Fatalf("%d batch items", len(resp.BatchItem))
	}
	return resp.BatchItem[0]
}

// streamClient runs multi-part operations as one caller.
type streamClient struct {
	t    *testing.T
	r    *Router
	cert *x509.Certificate
}

// must sends pl and returns its successful answer.
func must[T kmip.OperationPayload](c streamClient, pl kmip.OperationPayload) T {
	c.t.Helper()
	it := sendStreamAs(c.t, c.r, c.cert, kmip.V1_4, pl)
	if it.ResultStatus != kmip.ResultStatusSuccess {
		c.t.Fatalf("%s: %s: %s", ttlv.EnumStr(pl.Operation()), ttlv.EnumStr(it.ResultReason), it.ResultMessage)
	}
	out, ok := it.ResponsePayload.(T)
	if !ok {
		c.t.Fatalf("answered a %T", it.ResponsePayload)
	}
	return out
}

// encrypt encrypts parts as one multi-part Encrypt (one part: Init and
// Final together) and returns the joined output, the tag and the IV.
func (c streamClient) encrypt(id string, params *kmip.CryptographicParameters, iv, aad []byte, parts [][]byte) (out, tag, ivOut []byte) {
	c.t.Helper()
	var cv []byte
	for i, part := range parts {
		req := &payloads.EncryptRequestPayload{UniqueIdentifier: id, Data: part, CorrelationValue: cv}
		last := i == len(parts)-1
		if i == 0 {
			req.InitIndicator, req.CryptographicParameters, req.IVCounterNonce, req.AuthenticatedEncryptionAdditionalData = boolp(true), params, iv, aad
		}
		if last {
			req.FinalIndicator = boolp(true)
		}
		resp := must[*payloads.EncryptResponsePayload](c, req)
		if last != (len(resp.CorrelationValue) == 0) {
			c.t.Fatalf("part %d of %d: correlation value %x", i, len(parts), resp.CorrelationValue)
		}
		if i > 0 && !last && !bytes.Equal(resp.CorrelationValue, cv) {
			c.t.Fatalf("part %d: correlation value changed", i)
		}
		if i == 0 {
			cv, ivOut = resp.CorrelationValue, resp.IVCounterNonce
		}
		out = append(out, resp.Data...)
		tag = resp.AuthenticatedEncryptionTag
	}
	return out, tag, ivOut
}

// decrypt decrypts parts as one multi-part Decrypt; the tag goes with the
// first part, as the specification asks.
func (c streamClient) decrypt(id string, params *kmip.CryptographicParameters, iv, aad, tag []byte, parts [][]byte) []byte {
	c.t.Helper()
	var cv, out []byte
	for i, part := range parts {
		req := &payloads.DecryptRequestPayload{UniqueIdentifier: id, Data: part, CorrelationValue: cv}
		last := i == len(parts)-1
		if i == 0 {
			req.InitIndicator, req.CryptographicParameters, req.IVCounterNonce = boolp(true), params, iv
			req.AuthenticatedEncryptionAdditionalData, req.AuthenticatedEncryptionTag = aad, tag
		}
		if last {
			req.FinalIndicator = boolp(true)
		}
		resp := must[*payloads.DecryptResponsePayload](c, req)
		if i == 0 {
			cv = resp.CorrelationValue
		}
		if params.BlockCipherMode == kmip.BlockCipherModeGCM && !last && len(resp.Data) > 0 {
			c.t.Fatalf("GCM decryption released %d bytes before the tag was verified", len(resp.Data))
		}
		out = append(out, resp.Data...)
	}
	return out
}

// split cuts data into parts of the given sizes; the rest is the last part.
func split(data []byte, sizes ...int) [][]byte {
	var parts [][]byte
	for _, n := range sizes {
		n = min(n, len(data))
		parts = append(parts, data[:n])
		data = data[n:]
	}
	return append(parts, data)
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// TestStreamEqualsSinglePart: a multi-part Encrypt returns, part after
// part, exactly the single-part ciphertext (and tag), and a multi-part
// Decrypt of it returns the plaintext, whatever the cut.
func TestStreamEqualsSinglePart(t *testing.T) {
	r := newTestRouter(t)
	cert := &x509.Certificate{Raw: []byte("stream-owner")}
	key := unhex(t, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	id := registerSymmetric(t, r, key, keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt})
	iv16 := unhex(t, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
	aad := []byte("header")
	mode := func(m kmip.BlockCipherMode, p kmip.PaddingMethod) *kmip.CryptographicParameters {
		return &kmip.CryptographicParameters{BlockCipherMode: m, PaddingMethod: p}
	}
	tests := []struct {
		name   string
		params *kmip.CryptographicParameters
		iv     []byte
		aad    []byte
		plain  []byte
	}{
		{"ECB no padding", mode(kmip.BlockCipherModeECB, kmip.PaddingMethodNone), nil, nil, seq(80)},
		{"ECB PKCS5", mode(kmip.BlockCipherModeECB, kmip.PaddingMethodPKCS5), nil, nil, seq(77)},
		{"CBC no padding", mode(kmip.BlockCipherModeCBC, kmip.PaddingMethodNone), iv16, nil, seq(80)},
		{"CBC PKCS5", mode(kmip.BlockCipherModeCBC, kmip.PaddingMethodPKCS5), iv16, nil, seq(77)},
		{"CBC PKCS5 full padding block", mode(kmip.BlockCipherModeCBC, kmip.PaddingMethodPKCS5), iv16, nil, seq(80)},
		{"CBC X9.23", mode(kmip.BlockCipherModeCBC, kmip.PaddingMethodANSIX9_23), iv16, nil, seq(77)},
		{"ECB X9.23 full padding block", mode(kmip.BlockCipherModeECB, kmip.PaddingMethodANSIX9_23), nil, nil, seq(80)},
		{"CTR", mode(kmip.BlockCipherModeCTR, 0), iv16, nil, seq(77)},
		{"CTR counter wraps", mode(kmip.BlockCipherModeCTR, 0), bytes.Repeat([]byte{0xff}, 16), nil, seq(77)},
		{"GCM 96-bit nonce", mode(kmip.BlockCipherModeGCM, 0), iv16[:12], aad, seq(77)},
		{"GCM 96-bit nonce, 13-byte tag", &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeGCM, TagLength: 13}, iv16[:12], aad, seq(77)},
		{"GCM 64-bit nonce", &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeGCM, TagLength: 16}, iv16[:8], aad, seq(77)},
	}
	cuts := map[string][]int{
		"one request (init and final)": nil,
		"empty first part":             {0},
		"uneven parts":                 {5, 16, 3, 20},
		"one byte, then block sized":   {1, 16, 16},
		"all data first, empty final":  {100},
	}
	for _, tc := range tests {
		single := must[*payloads.EncryptResponsePayload](streamClient{t: t, r: r, cert: cert}, &payloads.EncryptRequestPayload{UniqueIdentifier: id,
			CryptographicParameters: tc.params, Data: tc.plain, IVCounterNonce: tc.iv, AuthenticatedEncryptionAdditionalData: tc.aad})
		for cutName, sizes := range cuts {
			t.Run(tc.name+"/"+cutName, func(t *testing.T) {
				c := streamClient{t: t, r: r, cert: cert}
				ct, tag, _ := c.encrypt(id, tc.params, tc.iv, tc.aad, split(tc.plain, sizes...))
				if !bytes.Equal(ct, single.Data) || !bytes.Equal(tag, single.AuthenticatedEncryptionTag) {
					t.Fatalf("multi-part %x / %x, single-part %x / %x", ct, tag, single.Data, single.AuthenticatedEncryptionTag)
				}
				pt := c.decrypt(id, tc.params, tc.iv, tc.aad, tag, split(ct, sizes...))
				if !bytes.Equal(pt, tc.plain) {
					t.Fatalf("decrypted %x, want %x", pt, tc.plain)
				}
			})
		}
	}
	if n := r.streams.count(); n != 0 {
		t.Fatalf("%d streams left open after their final parts", n)
	}
}

// TestStreamRandomIV: the server draws the IV of a CBC stream when the
// parameters ask for one, and returns it with the first part only.
func TestStreamRandomIV(t *testing.T) {
	r := newTestRouter(t)
	c := streamClient{t: t, r: r, cert: &x509.Certificate{Raw: []byte("stream-owner")}}
	id := registerSymmetric(t, r, seq(16), keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt})
	params := &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCBC, PaddingMethod: kmip.PaddingMethodPKCS5, RandomIV: boolp(true)}
	plain := seq(40)
	ct, _, iv := c.encrypt(id, params, nil, nil, split(plain, 10, 10))
	if len(iv) != 16 {
		t.Fatalf("IV of %d bytes", len(iv))
	}
	if pt := c.decrypt(id, params, iv, nil, nil, split(ct, 17)); !bytes.Equal(pt, plain) {
		t.Fatalf("decrypted %x", pt)
	}
}

// TestStreamRefusals: what a part may not do, and the answer.
func TestStreamRefusals(t *testing.T) {
	r := newTestRouter(t)
	cert := &x509.Certificate{Raw: []byte("stream-owner")}
	c := streamClient{t: t, r: r, cert: cert}
	id := registerSymmetric(t, r, seq(16), keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt})
	other := registerSymmetric(t, r, seq(16), keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt})
	cbc := &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCBC, PaddingMethod: kmip.PaddingMethodNone}
	pkcs5 := &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCBC, PaddingMethod: kmip.PaddingMethodPKCS5}
	gcm := &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeGCM}
	iv := seq(16)
	open := func(t *testing.T, params *kmip.CryptographicParameters, v []byte) []byte {
		t.Helper()
		c.t = t
		resp := must[*payloads.EncryptResponsePayload](c, &payloads.EncryptRequestPayload{UniqueIdentifier: id, CryptographicParameters: params, IVCounterNonce: v, InitIndicator: boolp(true)})
		return resp.CorrelationValue
	}
	next := func(cv []byte) *payloads.EncryptRequestPayload {
		return &payloads.EncryptRequestPayload{UniqueIdentifier: id, Data: seq(16), CorrelationValue: cv}
	}
	tests := []struct {
		name   string
		req    func(t *testing.T) kmip.OperationPayload
		v      kmip.ProtocolVersion
		reason kmip.ResultReason
		// ends: the refused part belongs to a stream the refusal ends.
		ends bool
	}{
		{"first part with a correlation value", func(*testing.T) kmip.OperationPayload {
			return &payloads.EncryptRequestPayload{UniqueIdentifier: id, CryptographicParameters: cbc, IVCounterNonce: iv, InitIndicator: boolp(true), CorrelationValue: seq(16)}
		}, kmip.V1_4, kmip.ResultReasonInvalidField, false},
		{"unknown correlation value", func(*testing.T) kmip.OperationPayload { return next(seq(16)) }, kmip.V1_4, kmip.ResultReasonInvalidField, false},
		{"CBC without IV", func(*testing.T) kmip.OperationPayload {
			return &payloads.EncryptRequestPayload{UniqueIdentifier: id, CryptographicParameters: cbc, InitIndicator: boolp(true)}
		}, kmip.V1_4, kmip.ResultReasonInvalidMessage, false},
		{"later part names another key", func(t *testing.T) kmip.OperationPayload {
			req := next(open(t, cbc, iv))
			req.UniqueIdentifier = other
			return req
		}, kmip.V1_4, kmip.ResultReasonInvalidField, true},
		{"later part changes the IV", func(t *testing.T) kmip.OperationPayload {
			req := next(open(t, cbc, iv))
			req.IVCounterNonce = bytes.Repeat([]byte{9}, 16)
			return req
		}, kmip.V1_4, kmip.ResultReasonInvalidField, true},
		{"later part changes the mode", func(t *testing.T) kmip.OperationPayload {
			req := next(open(t, cbc, iv))
			req.CryptographicParameters = &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCTR}
			return req
		}, kmip.V1_4, kmip.ResultReasonInvalidField, true},
		{"later part carries additional data", func(t *testing.T) kmip.OperationPayload {
			req := next(open(t, gcm, iv[:12]))
			req.AuthenticatedEncryptionAdditionalData = []byte("late")
			return req
		}, kmip.V1_4, kmip.ResultReasonInvalidField, true},
		{"final part leaves a partial block without padding", func(t *testing.T) kmip.OperationPayload {
			req := next(open(t, cbc, iv))
			req.Data, req.FinalIndicator = seq(5), boolp(true)
			return req
		}, kmip.V1_4, kmip.ResultReasonInvalidField, true},
		{"decrypt continues an encryption", func(t *testing.T) kmip.OperationPayload {
			return &payloads.DecryptRequestPayload{UniqueIdentifier: id, Data: seq(16), CorrelationValue: open(t, cbc, iv)}
		}, kmip.V1_4, kmip.ResultReasonInvalidField, false},
		{"GCM in more than 64 parts", func(t *testing.T) kmip.OperationPayload {
			cv := open(t, gcm, iv[:12])
			for range gcmStreamParts {
				must[*payloads.EncryptResponsePayload](c, &payloads.EncryptRequestPayload{Data: []byte{1}, CorrelationValue: cv})
			}
			return &payloads.EncryptRequestPayload{Data: []byte{1}, CorrelationValue: cv}
		}, kmip.V1_4, kmip.ResultReasonFeatureNotSupported, true},
		{"PKCS5 padding wrong at the final part", func(*testing.T) kmip.OperationPayload {
			return &payloads.DecryptRequestPayload{UniqueIdentifier: id, CryptographicParameters: pkcs5, IVCounterNonce: iv, Data: seq(32),
				InitIndicator: boolp(true), FinalIndicator: boolp(true)}
		}, kmip.V1_4, kmip.ResultReasonCryptographicFailure, false},
		{"GCM tag wrong at the final part", func(t *testing.T) kmip.OperationPayload {
			c.t = t
			resp := must[*payloads.DecryptResponsePayload](c, &payloads.DecryptRequestPayload{UniqueIdentifier: id, CryptographicParameters: gcm,
				IVCounterNonce: iv[:12], AuthenticatedEncryptionTag: seq(16), Data: seq(20), InitIndicator: boolp(true)})
			if len(resp.Data) != 0 {
				t.Fatalf("released %d bytes before the tag was verified", len(resp.Data))
			}
			return &payloads.DecryptRequestPayload{Data: seq(3), CorrelationValue: resp.CorrelationValue, FinalIndicator: boolp(true)}
		}, kmip.V1_4, kmip.ResultReasonCryptographicFailure, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req(t)
			before := r.streams.count()
			it := sendStreamAs(t, r, cert, tc.v, req)
			if it.ResultStatus == kmip.ResultStatusSuccess || it.ResultReason != tc.reason {
				t.Fatalf("got %s/%s (%s), want %s", ttlv.EnumStr(it.ResultStatus), ttlv.EnumStr(it.ResultReason), it.ResultMessage, ttlv.EnumStr(tc.reason))
			}
			// A refused later part ends its stream; a refused first part
			// opens none; a part refused as not the caller's changes nothing.
			want := before
			if tc.ends {
				want--
			}
			if n := r.streams.count(); n != want {
				t.Fatalf("%d streams open after the refusal, want %d", n, want)
			}
		})
	}
}

// TestStreamBeforeKMIP13: Init Indicator and Correlation Value are KMIP
// 1.3 fields; the decoder does not read them in a KMIP 1.2 request, which
// is refused whole as holding fields the server cannot interpret (it must
// not run as a single part).
func TestStreamBeforeKMIP13(t *testing.T) {
	r := newTestRouter(t)
	id := registerSymmetric(t, r, seq(16), keyOpts{mask: kmip.CryptographicUsageEncrypt})
	msg := kmip.NewRequestMessage(kmip.V1_4, &payloads.EncryptRequestPayload{UniqueIdentifier: id,
		CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeECB}, Data: seq(16), InitIndicator: boolp(true)})
	raw := ttlv.MarshalTTLV(&msg)
	tag := uint32(kmip.TagProtocolVersionMinor)
	minor := []byte{byte(tag >> 16), byte(tag >> 8), byte(tag), byte(ttlv.TypeInteger), 0, 0, 0, 4, 0, 0, 0}
	at := bytes.Index(raw, minor)
	if at < 0 || raw[at+len(minor)] != 4 {
		t.Fatal("no KMIP 1.4 minor version in the request")
	}
	raw[at+len(minor)] = 2
	var resp kmip.ResponseMessage
	if err := ttlv.UnmarshalTTLV(r.HandleMessage(context.Background(), Peer{ConnID: 1}, raw), &resp); err != nil {
		t.Fatal(err)
	}
	if it := resp.BatchItem[0]; it.ResultStatus == kmip.ResultStatusSuccess || it.ResultReason != kmip.ResultReasonInvalidMessage {
		t.Fatalf("a KMIP 1.2 multi-part Encrypt answered %s/%s", ttlv.EnumStr(it.ResultStatus), ttlv.EnumStr(it.ResultReason))
	}
	if n := r.streams.count(); n != 0 {
		t.Fatalf("%d streams open", n)
	}
}

// TestStreamUsageLimits: a multi-part Encrypt takes its bytes from the
// key's Usage Limits part by part; running out ends the stream.
func TestStreamUsageLimits(t *testing.T) {
	r := newTestRouter(t)
	c := streamClient{t: t, r: r, cert: &x509.Certificate{Raw: []byte("stream-owner")}}
	id := registerSymmetric(t, r, seq(16), keyOpts{mask: kmip.CryptographicUsageEncrypt, extra: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameUsageLimits, AttributeValue: kmip.UsageLimits{UsageLimitsTotal: 32, UsageLimitsUnit: kmip.UsageLimitsUnitByte}},
	}})
	ecb := &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeECB}
	first := must[*payloads.EncryptResponsePayload](c, &payloads.EncryptRequestPayload{UniqueIdentifier: id, CryptographicParameters: ecb, Data: seq(16), InitIndicator: boolp(true)})
	must[*payloads.EncryptResponsePayload](c, &payloads.EncryptRequestPayload{Data: seq(16), CorrelationValue: first.CorrelationValue})
	it := sendStreamAs(t, r, c.cert, kmip.V1_4, &payloads.EncryptRequestPayload{Data: seq(16), CorrelationValue: first.CorrelationValue})
	if it.ResultReason != kmip.ResultReasonPermissionDenied || it.ResultMessage != "usage limit exceeded" {
		t.Fatalf("third part: %s %q", ttlv.EnumStr(it.ResultReason), it.ResultMessage)
	}
	if n := r.streams.count(); n != 0 {
		t.Fatalf("%d streams open after the allocation failed", n)
	}
}
