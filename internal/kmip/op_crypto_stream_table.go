package kmip

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/devices"
)

// The open multi-part (streaming) Encrypt and Decrypt operations (KMIP 1.3
// and later, sections 4.29 and 4.30: Correlation Value, Init Indicator,
// Final Indicator). A stream lives in this server's memory only: it is
// never stored, never replicated, and a restart forgets it. It holds no key
// material: each part fetches the key again through the same checks as a
// single-part operation (op_crypto.go, cryptoKey), so a key destroyed,
// revoked or deactivated mid-stream ends the stream at its next part. What
// it holds (the chaining value or counter, the bytes waiting for a full
// block, the buffered data of a GCM stream) is cleared when the stream
// ends, fails or expires.

// Bounds of the open streams.
const (
	// streamIdle ends a stream that receives no part for this long.
	streamIdle = 5 * time.Minute
	// streamLife ends any stream this long after its first part.
	streamLife = time.Hour
	// streamsPerCaller bounds the open streams of one caller (client
	// certificate and principal), whatever its connections.
	streamsPerCaller = 16
	// streamsMax bounds the open streams of the server.
	streamsMax = 1024
	// streamsHeldMax bounds the data all open GCM streams buffer
	// (each at most gcmStreamMax).
	streamsHeldMax = 64 << 20
	// correlationLen is the length of a Correlation Value: 128 random bits.
	correlationLen = 16
)

// Errors of multi-part operations. An unknown, expired or foreign
// correlation value all answer the same, so that a caller learns nothing
// of another caller's streams.
var (
	errStreamUnknown  = kerr(kmip.ResultReasonInvalidField, "no open multi-part operation with this correlation value")
	errStreamBusy     = kerr(kmip.ResultReasonIllegalOperation, "the multi-part operation is processing another part")
	errStreamLimit    = kerr(kmip.ResultReasonGeneralFailure, "too many open multi-part operations: finish one first")
	errStreamHeld     = kerr(kmip.ResultReasonGeneralFailure, "open multi-part operations hold too much data: finish one first")
	errStreamInitCV   = kerr(kmip.ResultReasonInvalidField, "the first part of a multi-part operation carries no correlation value")
	errStreamMismatch = kerr(kmip.ResultReasonInvalidField, "a later part of a multi-part operation differs from its first part")
	errStreamAAD      = kerr(kmip.ResultReasonInvalidField, "authenticated encryption additional data belongs on the first part")
)

// streamOwner is the caller a stream is bound to: only the same client
// certificate, acting as the same principal, may continue it.
type streamOwner struct {
	fingerprint string
	serial      string
	kind        devices.PrincipalKind
	name        string
	device      string
}

func ownerOf(b *batch) streamOwner {
	return streamOwner{
		fingerprint: b.fingerprint, serial: b.serial,
		kind: b.principal.Kind, name: b.principal.Name, device: b.principal.DeviceID,
	}
}

// cryptoStream is one open multi-part operation.
type cryptoStream struct {
	owner  streamOwner
	op     kmip.Operation
	keyID  string
	params kmip.CryptographicParameters
	// iv is the IV/Counter/Nonce of the first part (nil for ECB).
	iv []byte
	st *partCipher
	// opened and last bound the stream's life (streamLife, streamIdle).
	opened, last time.Time
	// busy: a request is processing a part; others are refused.
	busy bool
	// held is the data this stream buffers, counted in streamTable.held.
	held int
}

func (s *cryptoStream) expired(now time.Time) bool {
	return now.Sub(s.last) > streamIdle || now.Sub(s.opened) > streamLife
}

// wipe clears what the stream holds.
func (s *cryptoStream) wipe() {
	s.st.wipe()
	clear(s.iv)
}

// streamTable holds the open streams; the zero value is ready.
type streamTable struct {
	mu sync.Mutex
	m  map[string]*cryptoStream
	// held is the data the open streams buffer (streamsHeldMax).
	held int
	// now is the clock (tests); nil: time.Now.
	now func() time.Time
}

func (t *streamTable) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

// sweep ends the expired streams that no request is using; t.mu is held.
func (t *streamTable) sweep(now time.Time) {
	for k, s := range t.m {
		if !s.busy && s.expired(now) {
			t.forget(k, s)
		}
	}
}

// open registers s, busy (the caller releases it), and returns its new
// correlation value.
func (t *streamTable) open(s *cryptoStream) ([]byte, error) {
	cv := make([]byte, correlationLen)
	if _, err := rand.Read(cv); err != nil {
		return nil, errCryptoFailed
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock()
	t.sweep(now)
	if len(t.m) >= streamsMax {
		return nil, errStreamLimit
	}
	n := 0
	for _, o := range t.m {
		if o.owner == s.owner {
			n++
		}
	}
	if n >= streamsPerCaller {
		return nil, errStreamLimit
	}
	if t.m == nil {
		t.m = map[string]*cryptoStream{}
	}
	if _, taken := t.m[string(cv)]; taken {
		return nil, errCryptoFailed // 2^-128: the generator is broken
	}
	s.opened, s.last, s.busy = now, now, true
	t.m[string(cv)] = s
	return cv, nil
}

// acquire returns the stream of cv, marked busy, if owner opened it with op
// and it has not expired.
func (t *streamTable) acquire(cv []byte, owner streamOwner, op kmip.Operation) (*cryptoStream, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(t.clock())
	s, ok := t.m[string(cv)]
	if !ok || s.owner != owner || s.op != op {
		return nil, errStreamUnknown
	}
	if s.busy {
		return nil, errStreamBusy
	}
	s.busy = true
	return s, nil
}

// release ends the use of an acquired stream: it stays open when keep is
// true, else it is forgotten and wiped.
func (t *streamTable) release(cv []byte, s *cryptoStream, keep bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if keep {
		s.busy, s.last = false, t.clock()
		return
	}
	if t.m[string(cv)] == s {
		t.forget(string(cv), s)
	}
	s.wipe()
}

// forget removes a stream and wipes it; t.mu is held.
func (t *streamTable) forget(k string, s *cryptoStream) {
	delete(t.m, k)
	t.held -= s.held
	s.held = 0
	s.wipe()
}

// hold counts n more bytes buffered by the acquired stream s, within
// streamsHeldMax.
func (t *streamTable) hold(s *cryptoStream, n int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held+n > streamsHeldMax {
		return errStreamHeld
	}
	t.held += n
	s.held += n
	return nil
}

// count returns the number of open streams (tests, metrics).
func (t *streamTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
