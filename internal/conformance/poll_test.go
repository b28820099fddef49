package conformance

import (
	"context"
	"testing"
	"time"
)

// staleConn answers exchange at with the previous exchange's expected
// response for its first stale attempts: a server whose state has not
// changed yet.
type staleConn struct {
	*echoConn
	at, stale, attempts int
	servedStale         bool
}

func (c *staleConn) RoundTrip(ctx context.Context, raw []byte) ([]byte, error) {
	if c.next == c.at && c.servedStale {
		// After a stale answer the runner either polls (the same request)
		// or moves on to the next exchange.
		req, err := Decode(raw)
		if err != nil {
			return nil, err
		}
		if c.checkRequest("RequestMessage", c.suite.Exchanges[c.at].Request, req) != nil {
			c.next++
		}
	}
	if c.next == c.at {
		c.attempts++
		if c.stale > 0 {
			c.stale--
			c.servedStale = true
			resp := c.suite.Exchanges[c.at-1].Response.Clone()
			c.fill(resp)
			return Encode(resp)
		}
	}
	return c.echoConn.RoundTrip(ctx, raw)
}

func TestPolling(t *testing.T) {
	tests := []struct {
		name, version, file string
		at, stale           int
		wantPass            bool
		wantAttempts        int
	}{
		{name: "state changes after three polls", version: "v1.1",
			file: "TC_92_11_Existing_Key_Expired_Re_key_with_Same_Life_cycle.xml",
			at:   3, stale: 3, wantPass: true, wantAttempts: 4},
		{name: "state never changes", version: "v1.0",
			file: "TC_92_10_Existing_Key_Expired_Re_key_with_Same_Life_cycle.xml",
			at:   3, stale: 1 << 20},
		{name: "a repeated encrypt is not polled", version: "v1.4", file: "CS-BC-M-7-14.xml",
			at: 2, stale: 1, wantAttempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustLoad(t, vectorPath(t, tt.version, tt.file))
			s.PollTimeout, s.PollInterval = 300*time.Millisecond, 10*time.Millisecond
			conn := &staleConn{echoConn: newEchoConn(s), at: tt.at, stale: tt.stale}
			start := time.Now()
			r := s.Run(context.Background(), conn)
			if time.Since(start) > 5*time.Second {
				t.Errorf("run took %s, want the poll bounded by its timeout", time.Since(start))
			}
			if r.Passed() != tt.wantPass {
				t.Fatalf("Passed() = %v, want %v:\n%s", r.Passed(), tt.wantPass, r.Report())
			}
			if tt.wantAttempts > 0 && conn.attempts != tt.wantAttempts {
				t.Errorf("exchange %d sent %d times, want %d", tt.at, conn.attempts, tt.wantAttempts)
			}
			if got := r.Exchanges[tt.at].Attempts; got != conn.attempts {
				t.Errorf("Attempts = %d, the server saw %d", got, conn.attempts)
			}
			if !tt.wantPass {
				m := firstMismatch(t, r)
				if m.Path != "BatchItem/ResponsePayload/Attribute/AttributeValue" &&
					m.Path != "BatchItem/ResultStatus" && m.Path != "BatchItem/ResponsePayload" {
					t.Errorf("first mismatch %q", m)
				}
			}
		})
	}
}

// TestProvenanceAcrossSuites runs TL-M-2 (the server creates a key) then
// TL-M-3 (a Get of that key by its ASI): the key's material is the server's
// choice only if the runs share what they learnt.
func TestProvenanceAcrossSuites(t *testing.T) {
	write := mustLoad(t, vectorPath(t, "v1.4", "TL-M-2-14.xml"))
	read := mustLoad(t, vectorPath(t, "v1.4", "TL-M-3-14.xml"))
	otherKey := setValue("BatchItem[1]/ResponsePayload/SymmetricKey/KeyBlock/KeyValue/KeyMaterial",
		[]byte("a key the server chose, 32 bytes"))
	tests := []struct {
		name     string
		shared   bool
		wantPass bool
	}{
		{name: "shared provenance", shared: true, wantPass: true},
		{name: "fresh provenance", shared: false, wantPass: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prov := NewProvenance()
			if r := write.RunWith(context.Background(), newEchoConn(write), prov); !r.Passed() {
				t.Fatalf("TL-M-2 fails:\n%s", r.Report())
			}
			if !tt.shared {
				prov = NewProvenance()
			}
			conn := newEchoConn(read)
			conn.mutate = func(i int, resp *Node) {
				if i == 0 {
					otherKey(t, resp)
				}
			}
			r := read.RunWith(context.Background(), conn, prov)
			if r.Passed() != tt.wantPass {
				t.Fatalf("Passed() = %v, want %v:\n%s", r.Passed(), tt.wantPass, r.Report())
			}
		})
	}
}
