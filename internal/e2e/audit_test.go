package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/testenv"
)

// gatedRecorder is an audit.Memory whose Ready can be made to fail, as the
// file trail's does when its directory is not writable.
type gatedRecorder struct {
	*audit.Memory
	mu       sync.Mutex
	notReady bool
}

func (g *gatedRecorder) Ready() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.notReady {
		return audit.ErrUnavailable
	}
	return nil
}

func (g *gatedRecorder) setReady(ok bool) {
	g.mu.Lock()
	g.notReady = !ok
	g.mu.Unlock()
}

// startAudited starts a server whose audit events go to a memory recorder.
func startAudited(t *testing.T) (*testenv.Env, *gatedRecorder) {
	t.Helper()
	rec := &gatedRecorder{Memory: &audit.Memory{}}
	env := testenv.Start(t, testenv.WithAudit(rec))
	return env, rec
}

// eventsOf returns the recorded events of protocol p.
func eventsOf(rec *gatedRecorder, p audit.Protocol) []audit.Event {
	var out []audit.Event
	for _, e := range rec.Events() {
		if e.Protocol == p {
			out = append(out, e)
		}
	}
	return out
}

// oneEvent runs fn and returns the one event of protocol p it caused,
// failing the test if it caused none or several.
func oneEvent(t *testing.T, rec *gatedRecorder, p audit.Protocol, fn func()) audit.Event {
	t.Helper()
	rec.Reset()
	fn()
	evs := eventsOf(rec, p)
	if len(evs) != 1 {
		t.Fatalf("%d %s events, want exactly 1: %s", len(evs), p, dumpEvents(evs))
	}
	checkEvent(t, evs[0], p)
	return evs[0]
}

// waitEvent waits for an event of protocol p and operation op that the
// server records after its answer (a refused TLS handshake).
func waitEvent(t *testing.T, rec *gatedRecorder, p audit.Protocol, op string) audit.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, e := range eventsOf(rec, p) {
			if e.Operation == op {
				checkEvent(t, e, p)
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s %q event: %s", p, op, dumpEvents(rec.Events()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkEvent checks the fields every event carries.
func checkEvent(t *testing.T, e audit.Event, p audit.Protocol) {
	t.Helper()
	if e.Time.IsZero() || e.Node != "testenv" || e.Protocol != p || e.Operation == "" || e.Type == "" {
		t.Fatalf("incomplete event %+v", e)
	}
	switch e.Outcome {
	case audit.Success:
		if e.Reason != "" && !strings.Contains(e.Reason, "replay") {
			t.Fatalf("success with reason %q", e.Reason)
		}
	case audit.Failure, audit.Denied:
		if e.Reason == "" {
			t.Fatalf("%s without a reason: %+v", e.Outcome, e)
		}
	default:
		t.Fatalf("outcome %q", e.Outcome)
	}
	if p != audit.ProtoServer && e.Remote == "" {
		t.Fatalf("event without remote address: %+v", e)
	}
}

func dumpEvents(evs []audit.Event) string {
	b, _ := json.MarshalIndent(evs, "", " ")
	return string(b)
}

// keyBytes collects the key material a test saw, to look for it in the
// trail.
type keyBytes struct {
	mu   sync.Mutex
	keys [][]byte
}

func (k *keyBytes) add(b []byte) {
	if len(b) == 0 {
		return
	}
	k.mu.Lock()
	k.keys = append(k.keys, bytes.Clone(b))
	k.mu.Unlock()
}

// assertNotIn fails if any key appears in the JSON of the events raw, in
// hex or in base64.
func (k *keyBytes) assertNotIn(t *testing.T, evs []audit.Event) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) == 0 {
		t.Fatal("no key material collected: the check would prove nothing")
	}
	blob, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	if i, form, found := leak(k.keys, blob); found {
		t.Fatalf("key %d found in the audit events (%s)", i, form)
	}
	// Binary keys are escaped in JSON: look for them in the raw field
	// values too.
	if i, form, found := leak(k.keys, []byte(fmt.Sprintf("%+v", evs))); found {
		t.Fatalf("key %d found in the audit event values (%s)", i, form)
	}
}

// leak looks for any of keys in blob, raw, in hex (either case) or in
// base64 (standard or URL alphabet, padded or not).
func leak(keys [][]byte, blob []byte) (int, string, bool) {
	lower := bytes.ToLower(blob)
	for i, key := range keys {
		forms := []struct {
			name string
			v    []byte
			hay  []byte
		}{
			{"raw", key, blob},
			{"hex", []byte(hex.EncodeToString(key)), lower},
			{"base64", []byte(base64.StdEncoding.EncodeToString(key)), blob},
			{"base64 unpadded", []byte(base64.RawStdEncoding.EncodeToString(key)), blob},
			{"base64url", []byte(base64.URLEncoding.EncodeToString(key)), blob},
			{"base64url unpadded", []byte(base64.RawURLEncoding.EncodeToString(key)), blob},
		}
		for _, f := range forms {
			if bytes.Contains(f.hay, f.v) {
				return i, f.name, true
			}
		}
	}
	return 0, "", false
}

// TestAuditLeakCheckCanFail: the leak check finds a key planted in an
// event, in each encoding.
func TestAuditLeakCheckCanFail(t *testing.T) {
	key := []byte("0123456789abcdef-planted-key-material")
	tests := []struct {
		name    string
		planted string
	}{
		{"raw", string(key)},
		{"hex upper case", strings.ToUpper(hex.EncodeToString(key))},
		{"base64", base64.StdEncoding.EncodeToString(key)},
		{"base64url", base64.RawURLEncoding.EncodeToString(key)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blob, err := json.Marshal([]audit.Event{{Labels: []string{tt.planted}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, found := leak([][]byte{key}, blob); !found {
				t.Fatalf("planted key not found in %s", blob)
			}
		})
	}
	t.Run("clean", func(t *testing.T) {
		blob, _ := json.Marshal([]audit.Event{{Labels: []string{"nothing here"}}})
		if _, form, found := leak([][]byte{key}, blob); found {
			t.Fatalf("found a key that is not there (%s)", form)
		}
	})
}
