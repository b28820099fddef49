package bench

import (
	"fmt"
	"testing"
)

// BenchmarkGet measures Get of an existing AES-256 key over persistent
// mutual-TLS connections, one goroutine per connection, each sending the
// same pre-encoded request and waiting for its response.
func BenchmarkGet(b *testing.B) {
	f := newGetFixture(b)
	for _, conns := range []int{1, 16} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			pool := dialPool(b, f.env.KMIPAddr, f.conf, conns)
			runWorkers(b, conns, func(w, i int) error { return f.get(pool[w], i) })
		})
	}
}

// BenchmarkTLSEcho is the ceiling for BenchmarkGet: the same TLS 1.3
// handshake (keywarden's server certificate, client authentication), the
// same connection counts, a message of the size of the Get request and an
// answer of the size of its response, and no work in between.
func BenchmarkTLSEcho(b *testing.B) {
	f := newGetFixture(b)
	echo := startEcho(b, f.env, len(f.req), f.respLen)
	b.Logf("request %d bytes, response %d bytes", len(f.req), f.respLen)
	for _, conns := range []int{8, 16} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			pool := make([]*echoConn, 0, conns)
			b.Cleanup(func() {
				for _, c := range pool {
					c.close()
				}
			})
			for range conns {
				c, err := dialEcho(echo, f.conf)
				if err != nil {
					b.Fatal(err)
				}
				pool = append(pool, c)
			}
			runWorkers(b, conns, func(w, _ int) error { return pool[w].roundTrip() })
		})
	}
}

// BenchmarkCreate measures durable Create of AES-256 keys: the server
// answers only once the new object is committed (bbolt, fdatasync), so
// concurrent clients measure how well commits are grouped. Every response
// is decoded and must be a success.
func BenchmarkCreate(b *testing.B) {
	env := startServer(b)
	conf := clientTLS(env)
	req := encodeCreate()
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			pool := dialPool(b, env.KMIPAddr, conf, clients)
			runWorkers(b, clients, func(w, _ int) error {
				resp, err := pool[w].roundTrip(req)
				if err != nil {
					return err
				}
				_, err = decodeSuccess(resp)
				return err
			})
		})
	}
}

// BenchmarkHandshakeGet measures one operation as a client that does not
// keep its connection would do it: TCP connect, full TLS 1.3 handshake with
// client certificate (no session resumption), one Get, close.
func BenchmarkHandshakeGet(b *testing.B) {
	f := newGetFixture(b)
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			runWorkers(b, clients, func(_, i int) error {
				c, err := dialKMIP(f.env.KMIPAddr, f.conf)
				if err != nil {
					return err
				}
				defer c.close()
				return f.get(c, i)
			})
		})
	}
}
