package kmip

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/devices"
)

// streamFixture is a router, a CBC key and two callers.
type streamFixture struct {
	r      *Router
	id     string
	a, b   *x509.Certificate
	params *kmip.CryptographicParameters
}

func newStreamFixture(t *testing.T) streamFixture {
	r := newTestRouter(t)
	return streamFixture{
		r:      r,
		id:     registerSymmetric(t, r, seq(16), keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt}),
		a:      &x509.Certificate{Raw: []byte("caller-a")},
		b:      &x509.Certificate{Raw: []byte("caller-b")},
		params: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCBC, PaddingMethod: kmip.PaddingMethodPKCS5},
	}
}

// open starts an encryption stream as cert, with 7 bytes of data held.
func (f streamFixture) open(t *testing.T, cert *x509.Certificate) []byte {
	t.Helper()
	resp := must[*payloads.EncryptResponsePayload](streamClient{t: t, r: f.r, cert: cert}, &payloads.EncryptRequestPayload{
		UniqueIdentifier: f.id, CryptographicParameters: f.params, IVCounterNonce: seq(16), Data: seq(7), InitIndicator: boolp(true)})
	if len(resp.CorrelationValue) != correlationLen {
		t.Fatalf("correlation value of %d bytes", len(resp.CorrelationValue))
	}
	return resp.CorrelationValue
}

// part sends a later part as cert and returns its batch item.
func (f streamFixture) part(t *testing.T, cert *x509.Certificate, cv []byte, final bool) kmip.ResponseBatchItem {
	t.Helper()
	req := &payloads.EncryptRequestPayload{Data: seq(9), CorrelationValue: cv}
	if final {
		req.FinalIndicator = boolp(true)
	}
	return sendStreamAs(t, f.r, cert, kmip.V1_4, req)
}

func wantReason(t *testing.T, it kmip.ResponseBatchItem, reason kmip.ResultReason) {
	t.Helper()
	if it.ResultStatus == kmip.ResultStatusSuccess || it.ResultReason != reason {
		t.Fatalf("got %s/%s (%s), want %s", ttlv.EnumStr(it.ResultStatus), ttlv.EnumStr(it.ResultReason), it.ResultMessage, ttlv.EnumStr(reason))
	}
}

func wantSuccess(t *testing.T, it kmip.ResponseBatchItem) {
	t.Helper()
	if it.ResultStatus != kmip.ResultStatusSuccess {
		t.Fatalf("%s: %s", ttlv.EnumStr(it.ResultReason), it.ResultMessage)
	}
}

// TestStreamWrongCaller: another caller can neither continue nor end a
// stream, and learns nothing (the answer is that of an unknown value).
func TestStreamWrongCaller(t *testing.T) {
	f := newStreamFixture(t)
	cv := f.open(t, f.a)
	unknown := f.part(t, f.a, bytes.Repeat([]byte{7}, correlationLen), false)
	foreign := f.part(t, f.b, cv, true)
	wantReason(t, foreign, kmip.ResultReasonInvalidField)
	if foreign.ResultMessage != unknown.ResultMessage || foreign.ResultReason != unknown.ResultReason {
		t.Fatalf("a foreign stream answers %q, an unknown one %q", foreign.ResultMessage, unknown.ResultMessage)
	}
	// The owner's stream is intact.
	wantSuccess(t, f.part(t, f.a, cv, false))
	final := f.part(t, f.a, cv, true)
	wantSuccess(t, final)
	if pl := final.ResponsePayload.(*payloads.EncryptResponsePayload); len(pl.Data) != 16 || len(pl.CorrelationValue) != 0 {
		t.Fatalf("final part: %d bytes, correlation value %x", len(pl.Data), pl.CorrelationValue)
	}
	wantReason(t, f.part(t, f.a, cv, false), kmip.ResultReasonInvalidField) // ended
}

// TestStreamOwner: the owner is the certificate and the principal it acts
// as (a device serial in the request header can make it another).
func TestStreamOwner(t *testing.T) {
	base := batch{fingerprint: "fp", serial: "1", principal: devices.Principal{Kind: devices.KindDevice, Name: "drive", DeviceID: "d1"}}
	tests := []struct {
		name   string
		change func(b *batch)
	}{
		{"another certificate", func(b *batch) { b.fingerprint = "fp2" }},
		{"another device serial", func(b *batch) { b.serial = "2" }},
		{"another principal name", func(b *batch) { b.principal.Name = "other" }},
		{"another principal kind", func(b *batch) { b.principal.Kind = devices.KindAdmin }},
		{"another device", func(b *batch) { b.principal.DeviceID = "d2" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			other := base
			tc.change(&other)
			if ownerOf(&base) == ownerOf(&other) {
				t.Fatal("same owner")
			}
		})
	}
}

// TestStreamExpiry: a stream ends after streamIdle without a part, or
// streamLife after its first part however busy, and its state is wiped.
func TestStreamExpiry(t *testing.T) {
	tests := []struct {
		name  string
		steps []time.Duration // the clock's advance before each later part
		fails int             // the index of the part refused as expired
	}{
		{"idle", []time.Duration{streamIdle - time.Second, streamIdle + time.Second}, 1},
		{"life", []time.Duration{4 * time.Minute, 4 * time.Minute, 4 * time.Minute, 4 * time.Minute, 4 * time.Minute,
			4 * time.Minute, 4 * time.Minute, 4 * time.Minute, 4 * time.Minute, 4 * time.Minute,
			4 * time.Minute, 4 * time.Minute, 4 * time.Minute, 4 * time.Minute, 4 * time.Minute, 4 * time.Minute}, 15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newStreamFixture(t)
			var mu sync.Mutex
			now := time.Unix(1e9, 0)
			f.r.streams.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			cv := f.open(t, f.a)
			s := f.r.streams.m[string(cv)]
			for i, d := range tc.steps {
				mu.Lock()
				now = now.Add(d)
				mu.Unlock()
				it := f.part(t, f.a, cv, false)
				if i < tc.fails {
					wantSuccess(t, it)
					continue
				}
				wantReason(t, it, kmip.ResultReasonInvalidField)
				break
			}
			if n := f.r.streams.count(); n != 0 {
				t.Fatalf("%d streams after expiry", n)
			}
			if s.st.pending != nil || !bytes.Equal(s.iv, make([]byte, 16)) || !bytes.Equal(s.st.iv, make([]byte, 16)) {
				t.Fatalf("expired stream not wiped: pending %x, iv %x, chain %x", s.st.pending, s.iv, s.st.iv)
			}
		})
	}
}

// TestStreamCap: one caller opens at most streamsPerCaller streams; the
// cap leaves other callers alone, and finishing a stream frees a place.
func TestStreamCap(t *testing.T) {
	f := newStreamFixture(t)
	var cvs [][]byte
	for range streamsPerCaller {
		cvs = append(cvs, f.open(t, f.a))
	}
	over := sendStreamAs(t, f.r, f.a, kmip.V1_4, &payloads.EncryptRequestPayload{UniqueIdentifier: f.id, CryptographicParameters: f.params,
		IVCounterNonce: seq(16), Data: seq(7), InitIndicator: boolp(true)})
	wantReason(t, over, kmip.ResultReasonGeneralFailure)
	f.open(t, f.b)
	wantSuccess(t, f.part(t, f.a, cvs[0], true))
	f.open(t, f.a)
	if n := f.r.streams.count(); n != streamsPerCaller+1 {
		t.Fatalf("%d streams open, want %d", n, streamsPerCaller+1)
	}
}

// TestStreamCapServer: the server holds at most streamsMax streams,
// whatever the number of callers.
func TestStreamCapServer(t *testing.T) {
	var tbl streamTable
	for i := range streamsMax {
		s := &cryptoStream{owner: streamOwner{fingerprint: fmt.Sprint(i)}, st: &partCipher{}}
		cv, err := tbl.open(s)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		tbl.release(cv, s, true)
	}
	if _, err := tbl.open(&cryptoStream{owner: streamOwner{fingerprint: "one more"}, st: &partCipher{}}); err != errStreamLimit {
		t.Fatalf("stream %d: %v, want the limit", streamsMax+1, err)
	}
}

// TestStreamKeyChange: a key revoked or destroyed mid-stream ends the
// stream at its next part.
func TestStreamKeyChange(t *testing.T) {
	f := newStreamFixture(t)
	cv := f.open(t, f.a)
	c := streamClient{t: t, r: f.r, cert: f.a}
	compromised := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	must[*payloads.RevokeResponsePayload](c, &payloads.RevokeRequestPayload{UniqueIdentifier: f.id,
		RevocationReason:         kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeKeyCompromise},
		CompromiseOccurrenceDate: &compromised})
	wantReason(t, f.part(t, f.a, cv, false), kmip.ResultReasonPermissionDenied)
	if n := f.r.streams.count(); n != 0 {
		t.Fatalf("%d streams open after the key was revoked", n)
	}
	wantReason(t, f.part(t, f.a, cv, false), kmip.ResultReasonInvalidField)

	t.Run("destroyed", func(t *testing.T) {
		f := newStreamFixture(t)
		cv := f.open(t, f.a)
		c := streamClient{t: t, r: f.r, cert: f.a}
		// Deactivated (revoked with a reason other than compromise), then destroyed.
		must[*payloads.RevokeResponsePayload](c, &payloads.RevokeRequestPayload{UniqueIdentifier: f.id,
			RevocationReason: kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeCessationOfOperation}})
		must[*payloads.DestroyResponsePayload](c, &payloads.DestroyRequestPayload{UniqueIdentifier: f.id})
		it := f.part(t, f.a, cv, true)
		if it.ResultStatus == kmip.ResultStatusSuccess {
			t.Fatal("a stream continued on a destroyed key")
		}
		if n := f.r.streams.count(); n != 0 {
			t.Fatalf("%d streams open after the key was destroyed", n)
		}
	})
}

// TestAddCounter: the CTR counter block advances as a big-endian number
// and wraps.
func TestAddCounter(t *testing.T) {
	tests := []struct {
		name      string
		in, out   string
		increment uint64
	}{
		{"no carry", "00000000000000000000000000000001", "00000000000000000000000000000003", 2},
		{"carry across bytes", "000000000000000000000000000000ff", "00000000000000000000000000000100", 1},
		{"large increment", "00000000000000000000000000000001", "00000000000000000000000100000000", 0xffffffff},
		{"wraps", "ffffffffffffffffffffffffffffffff", "00000000000000000000000000000001", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctr := unhex(t, tc.in)
			addCounter(ctr, tc.increment)
			if want := unhex(t, tc.out); !bytes.Equal(ctr, want) {
				t.Fatalf("got %x, want %x", ctr, want)
			}
		})
	}
}

// TestGCMStreamBufferBound: a GCM stream buffers at most gcmStreamMax bytes.
func TestGCMStreamBufferBound(t *testing.T) {
	pc := &partCipher{mode: kmip.BlockCipherModeGCM, decrypt: true}
	if err := pc.buffer(make([]byte, gcmStreamMax)); err != nil {
		t.Fatal(err)
	}
	if err := pc.buffer([]byte{1}); err != errStreamTooLarge {
		t.Fatalf("one byte over the bound: %v", err)
	}
}

// TestStreamHeldBound: the open GCM streams buffer at most streamsHeldMax
// bytes together; a stream that ends gives its share back.
func TestStreamHeldBound(t *testing.T) {
	var tbl streamTable
	var open []*cryptoStream
	var cvs [][]byte
	for i := range streamsHeldMax / gcmStreamMax {
		s := &cryptoStream{owner: streamOwner{fingerprint: fmt.Sprint(i)}, st: &partCipher{}}
		cv, err := tbl.open(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := tbl.hold(s, gcmStreamMax); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		tbl.release(cv, s, true)
		open, cvs = append(open, s), append(cvs, cv)
	}
	if err := tbl.hold(open[0], 1); err != errStreamHeld {
		t.Fatalf("one byte over the bound: %v", err)
	}
	s, err := tbl.acquire(cvs[1], open[1].owner, open[1].op)
	if err != nil {
		t.Fatal(err)
	}
	tbl.release(cvs[1], s, false)
	if err := tbl.hold(open[0], gcmStreamMax); err != nil {
		t.Fatalf("after a stream ended: %v", err)
	}
}

// TestStreamConcurrentParts: parts of one stream sent at once are either
// served one after the other or refused as busy, never interleaved.
func TestStreamConcurrentParts(t *testing.T) {
	f := newStreamFixture(t)
	f.params = &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCTR}
	cv := f.open(t, f.a)
	const senders = 8
	resps := make([]kmip.ResponseMessage, senders)
	errs := make([]error, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			msg := kmip.NewRequestMessage(kmip.V1_4, &payloads.EncryptRequestPayload{Data: seq(9), CorrelationValue: cv})
			errs[i] = ttlv.UnmarshalTTLV(f.r.HandleMessage(context.Background(), Peer{Certificate: f.a, ConnID: uint64(i)}, ttlv.MarshalTTLV(&msg)), &resps[i])
		})
	}
	wg.Wait()
	served := 0
	for i, resp := range resps {
		if errs[i] != nil || len(resp.BatchItem) != 1 {
			t.Fatalf("sender %d: %v, %d items", i, errs[i], len(resp.BatchItem))
		}
		switch it := resp.BatchItem[0]; {
		case it.ResultStatus == kmip.ResultStatusSuccess:
			served++
		case it.ResultReason != kmip.ResultReasonIllegalOperation:
			t.Fatalf("%s: %s", ttlv.EnumStr(it.ResultReason), it.ResultMessage)
		}
	}
	if served == 0 {
		t.Fatal("no part served")
	}
	// The stream went on: 7 bytes, then 9 per part served, all in CTR.
	s := f.r.streams.m[string(cv)]
	if want := (7 + 9*served) % 16; s.st.used != want {
		t.Fatalf("counter block used %d bytes, want %d after %d parts", s.st.used, want, served)
	}
}
