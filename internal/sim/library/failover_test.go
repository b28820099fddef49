package library

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// silentServer accepts TCP connections and never answers: a server that
// hangs. It returns its address.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return ln.Addr().String()
}

// lostAnswerServer is a front end with the real server's certificate that
// passes each request on to upstream (as the administrator) and hangs up
// before answering: the server acted, the library never learns it. It
// returns its address and a counter of requests passed on.
func lostAnswerServer(t *testing.T, env *testenv.Env) (string, func() int) {
	t.Helper()
	mk, err := barrier.OpenMasterKey(env.DataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := pki.LoadServerTLS(env.DataDir, mk)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var mu sync.Mutex
	passed := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				req, err := readRequest(c)
				if err != nil {
					return
				}
				up, err := tls.Dial("tcp", env.KMIPAddr, env.AdminTLS)
				if err != nil {
					return
				}
				defer up.Close()
				_ = up.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := up.Write(req); err != nil {
					return
				}
				if _, err := readMessage(up); err != nil {
					return
				}
				mu.Lock()
				passed++
				mu.Unlock()
			}()
		}
	}()
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return passed }
}

// readRequest reads one TTLV message whatever its tag.
func readRequest(c net.Conn) ([]byte, error) {
	head := make([]byte, 8)
	if _, err := io.ReadFull(c, head); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[4:])
	if n > maxMessageSize {
		return nil, errors.New("request too big")
	}
	msg := make([]byte, 8+int(n))
	copy(msg, head)
	if _, err := io.ReadFull(c, msg[8:]); err != nil {
		return nil, err
	}
	return msg, nil
}

func TestFailover(t *testing.T) {
	env := testenv.Start(t)
	ctx := ctxT(t)
	written, err := newClient(t, env.AdminTLS, 0, env.KMIPAddr).CreateKey(ctx, "FOV000L8")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("dead then live", func(t *testing.T) {
		c := newClient(t, env.AdminTLS, 0, deadAddr(t), env.KMIPAddr)
		w, err := c.CreateKey(ctx, "FOV001L8")
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.FetchKey(ctx, w.KeyID)
		if err != nil || !bytes.Equal(r.Material, w.Material) {
			t.Fatalf("read after failover: %v", err)
		}
	})

	t.Run("hanging server is left after the timeout", func(t *testing.T) {
		c := newClient(t, env.AdminTLS, 500*time.Millisecond, silentServer(t), env.KMIPAddr)
		start := time.Now()
		r, err := c.FetchKey(ctx, written.KeyID)
		if err != nil || !bytes.Equal(r.Material, written.Material) {
			t.Fatalf("read: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("failover took %v with a 500ms timeout", d)
		}
	})

	t.Run("no server answers", func(t *testing.T) {
		c := newClient(t, env.AdminTLS, 500*time.Millisecond, deadAddr(t), silentServer(t))
		_, err := c.FetchKey(ctx, written.KeyID)
		if !errors.Is(err, ErrNoServer) {
			t.Fatalf("FetchKey with no server: %v; want ErrNoServer", err)
		}
	})

	t.Run("lost answer: the key created is reused, not duplicated", func(t *testing.T) {
		front, passed := lostAnswerServer(t, env)
		c := newClient(t, env.AdminTLS, 0, front, env.KMIPAddr)
		w, err := c.CreateKey(ctx, "FOV002L8")
		if err != nil {
			t.Fatal(err)
		}
		if passed() != 1 {
			t.Fatalf("the front end passed %d requests on, want the one batch", passed())
		}
		direct := newClient(t, env.AdminTLS, 0, env.KMIPAddr)
		var ids []string
		err = direct.failover(ctx, func(s *session, _ bool) error {
			uid, err := s.locate(w.KeyID)
			ids = append(ids, uid)
			return err
		})
		if err != nil || len(ids) != 1 || ids[0] != w.UniqueIdentifier {
			t.Fatalf("keys with the identifier: %q, %v; want only %s", ids, err, w.UniqueIdentifier)
		}
	})

	t.Run("pre-active key found on retry is activated", func(t *testing.T) {
		keyID, err := NewKeyID()
		if err != nil {
			t.Fatal(err)
		}
		direct := newClient(t, env.AdminTLS, 0, env.KMIPAddr)
		var (
			created string
			got     Key
			state   kmip.State
		)
		err = direct.failover(ctx, func(s *session, _ bool) error {
			p, err := s.one(createRequest(keyID, "FOV003L8"))
			if err != nil {
				return err
			}
			if cr, ok := p.(*payloads.CreateResponsePayload); ok {
				created = cr.UniqueIdentifier
			}
			if got, err = s.write(keyID, "FOV003L8", true); err != nil {
				return err
			}
			state, err = s.state(created)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.UniqueIdentifier != created || len(got.Material) != KeySize || state != kmip.StateActive {
			t.Fatalf("retry got object %q (%d bytes), state %v; want %q, Active", got.UniqueIdentifier, len(got.Material), state, created)
		}
	})
}
