package bench

import (
	"crypto/tls"
	"testing"
	"time"
)

// TestHelpers checks the benchmarks' building blocks against a real server,
// so that a broken helper fails here rather than producing a figure.
func TestHelpers(t *testing.T) {
	f := newGetFixture(t)

	t.Run("get succeeds and is checked", func(t *testing.T) {
		pool := dialPool(t, f.env.KMIPAddr, f.conf, 2)
		for i := range 2 * sampleEvery {
			if err := f.get(pool[i%2], i); err != nil {
				t.Fatalf("get %d: %v", i, err)
			}
		}
	})
	t.Run("get rejects a response of another size", func(t *testing.T) {
		bad := *f
		bad.respLen++
		c := dialPool(t, f.env.KMIPAddr, f.conf, 1)[0]
		if err := bad.get(c, 1); err == nil {
			t.Fatal("get accepted a response of the wrong size")
		}
	})
	t.Run("get of an unknown key fails the check", func(t *testing.T) {
		c := dialPool(t, f.env.KMIPAddr, f.conf, 1)[0]
		resp, err := c.roundTrip(encodeGet("no-such-key"))
		if err != nil {
			t.Fatal(err)
		}
		if err := checkGet(resp, "no-such-key"); err == nil {
			t.Fatal("checkGet accepted a failed Get")
		}
	})
	t.Run("create returns distinct identifiers", func(t *testing.T) {
		c := dialPool(t, f.env.KMIPAddr, f.conf, 1)[0]
		a, err := createKey(c)
		if err != nil {
			t.Fatal(err)
		}
		b, err := createKey(c)
		if err != nil {
			t.Fatal(err)
		}
		if a == b || a == f.id {
			t.Fatalf("identifiers %q, %q (fixture %q)", a, b, f.id)
		}
	})
	t.Run("echo answers with the response size", func(t *testing.T) {
		echo := startEcho(t, f.env, len(f.req), f.respLen)
		c, err := dialEcho(echo, f.conf)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		if v := c.conn.ConnectionState().Version; v != tls.VersionTLS13 {
			t.Fatalf("echo negotiated TLS version %#x, want TLS 1.3", v)
		}
		for range 3 {
			if err := c.roundTrip(); err != nil {
				t.Fatal(err)
			}
		}
		short := startEcho(t, f.env, len(f.req), f.respLen-1)
		sc, err := dialEcho(short, f.conf)
		if err != nil {
			t.Fatal(err)
		}
		defer sc.close()
		sc.resp = make([]byte, f.respLen)
		sc.timeout = 500 * time.Millisecond
		if err := sc.roundTrip(); err == nil {
			t.Fatal("a short echo answer went unnoticed")
		}
	})
	t.Run("idle child holds its connections", func(t *testing.T) {
		const n = 10
		r, err := measureIdle(t, f, n)
		if err != nil {
			t.Fatal(err)
		}
		if r.goroutinesPerConn < 1 || r.heapPerConn <= 0 {
			t.Fatalf("per connection: %.1f goroutines, %.0f heap bytes", r.goroutinesPerConn, r.heapPerConn)
		}
	})
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of four", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of hundred", ms(seq(100)...), 99, 99 * time.Millisecond},
		{"p100", ms(1, 2, 3), 100, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("percentile(%v, %d) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

// seq returns 1..n.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}
