package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The forwarding RPC runs on connections of kind connForward. A request is
// a kind byte, a uvarint length and a payload; a response is a code byte, a
// big-endian uint64 Raft index and a uvarint-length payload (an error
// message, or JSON for a status). A connection carries one request at a
// time and is reused.
const (
	reqApply  byte = 1 // payload: store.Encode(cmd)
	reqJoin   byte = 2 // payload: JSON joinRequest
	reqLeave  byte = 3 // payload: node id
	reqStatus byte = 4 // payload: empty; answer: JSON NodeStatus
)

// Response codes.
const (
	codeOK          byte = 0
	codeConflict    byte = 1
	codeInvalid     byte = 2
	codeNotLeader   byte = 3
	codeUnavailable byte = 4
	codeFailed      byte = 5
	codeUnknownNode byte = 6
)

// maxFrame bounds a forwarded request or response: a command larger than
// this is refused on a follower (apply it on the leader, or split it).
const maxFrame = 64 << 20

// idleTimeout closes a forwarding connection that carries no request.
const idleTimeout = 2 * time.Minute

// maxIdleConns bounds the idle forwarding connections kept per node.
const maxIdleConns = 64

// writeFrame writes a kind or code byte, an index (responses only) and a
// length-prefixed payload.
func writeFrame(w *bufio.Writer, head byte, index *uint64, payload []byte) error {
	if err := w.WriteByte(head); err != nil {
		return err
	}
	if index != nil {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], *index)
		if _, err := w.Write(b[:]); err != nil {
			return err
		}
	}
	var n [binary.MaxVarintLen64]byte
	if _, err := w.Write(n[:binary.PutUvarint(n[:], uint64(len(payload)))]); err != nil {
		return err
	}
	if _, err := w.Write(payload); err != nil {
		return err
	}
	return w.Flush()
}

// readFrame reads what writeFrame wrote.
func readFrame(r *bufio.Reader, withIndex bool) (head byte, index uint64, payload []byte, err error) {
	if head, err = r.ReadByte(); err != nil {
		return 0, 0, nil, err
	}
	if withIndex {
		var b [8]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return 0, 0, nil, err
		}
		index = binary.BigEndian.Uint64(b[:])
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, 0, nil, err
	}
	if n > maxFrame {
		return 0, 0, nil, fmt.Errorf("cluster: frame of %d bytes exceeds %d", n, maxFrame)
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return 0, 0, nil, err
	}
	return head, index, payload, nil
}

// rpcResult is the answer of one request.
type rpcResult struct {
	code    byte
	index   uint64
	payload []byte
}

// serveForward answers the requests of one inbound forwarding connection
// with handle until the peer closes it or it idles out.
func serveForward(c net.Conn, handle func(kind byte, payload []byte) rpcResult) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	for {
		_ = c.SetReadDeadline(time.Now().Add(idleTimeout))
		kind, _, payload, err := readFrame(r, false)
		if err != nil {
			return
		}
		_ = c.SetReadDeadline(time.Time{})
		res := handle(kind, payload)
		if err := writeFrame(w, res.code, &res.index, res.payload); err != nil {
			return
		}
	}
}

// pooledConn is an outbound forwarding connection with its buffers.
type pooledConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

// forwarder sends requests to other nodes over pooled connections.
type forwarder struct {
	dial func(addr string, timeout time.Duration) (net.Conn, error)

	mu     sync.Mutex
	idle   map[string][]*pooledConn
	closed bool
}

func newForwarder(dial func(addr string, timeout time.Duration) (net.Conn, error)) *forwarder {
	return &forwarder{dial: dial, idle: map[string][]*pooledConn{}}
}

// call sends one request to addr and waits for its answer, within ctx.
func (f *forwarder) call(ctx context.Context, addr string, kind byte, payload []byte) (rpcResult, error) {
	if len(payload) > maxFrame {
		return rpcResult{}, fmt.Errorf("cluster: request of %d bytes exceeds the %d bytes a node forwards", len(payload), maxFrame)
	}
	pc, err := f.get(ctx, addr)
	if err != nil {
		return rpcResult{}, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	_ = pc.c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = pc.c.SetDeadline(time.Now()) })
	err = writeFrame(pc.w, kind, nil, payload)
	var res rpcResult
	if err == nil {
		res.code, res.index, res.payload, err = readFrame(pc.r, true)
	}
	stopped := stop()
	if err != nil || !stopped {
		_ = pc.c.Close()
		if err == nil {
			err = ctx.Err()
		}
		if cerr := ctx.Err(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return rpcResult{}, &sentError{fmt.Errorf("cluster: call %s: %w", addr, err)}
	}
	_ = pc.c.SetDeadline(time.Time{})
	f.put(addr, pc)
	return res, nil
}

// sentError is a call that failed after its request may have been sent:
// its outcome on the other node is unknown.
type sentError struct{ err error }

func (e *sentError) Error() string { return e.err.Error() }
func (e *sentError) Unwrap() error { return e.err }

// get returns an idle connection to addr or dials one.
func (f *forwarder) get(ctx context.Context, addr string) (*pooledConn, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, errors.New("cluster: forwarder closed")
	}
	for {
		list := f.idle[addr]
		if len(list) == 0 {
			break
		}
		pc := list[len(list)-1]
		f.idle[addr] = list[:len(list)-1]
		f.mu.Unlock()
		if alive(pc) {
			return pc, nil
		}
		_ = pc.c.Close()
		f.mu.Lock()
	}
	f.mu.Unlock()
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("cluster: call %s: %w", addr, context.DeadlineExceeded)
	}
	c, err := f.dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	return &pooledConn{c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}, nil
}

// alive reports whether an idle connection is still open: the peer closed
// it if a read returns anything but a timeout. A request written to a
// closed connection would leave its outcome unknown; one written to an open
// connection is answered before the peer closes it (shutdown aside).
func alive(pc *pooledConn) bool {
	_ = pc.c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := pc.r.Peek(1)
	_ = pc.c.SetReadDeadline(time.Time{})
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// put keeps a healthy connection for reuse.
func (f *forwarder) put(addr string, pc *pooledConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || len(f.idle[addr]) >= maxIdleConns {
		_ = pc.c.Close()
		return
	}
	f.idle[addr] = append(f.idle[addr], pc)
}

// close closes every idle connection; later calls fail.
func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for _, list := range f.idle {
		for _, pc := range list {
			_ = pc.c.Close()
		}
	}
	f.idle = nil
}
