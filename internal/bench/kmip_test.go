package bench

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/kmip/wire"
	"github.com/keywarden/keywarden/internal/testenv"
)

const (
	// opTimeout bounds one request/response exchange (or one handshake), so
	// that a stuck server fails a benchmark instead of hanging it.
	opTimeout = 30 * time.Second
	// maxResponse bounds a response message read by the benchmarks.
	maxResponse = 64 << 10
)

// startServer starts a real keywarden server whose logs are discarded: at
// debug level through t.Log they would cost more than the requests.
func startServer(tb testing.TB, opts ...testenv.Option) *testenv.Env {
	tb.Helper()
	return testenv.Start(tb, append([]testenv.Option{testenv.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
}

// clientTLS returns env's administrator client configuration pinned to
// TLS 1.3, so that the KMIP and echo benchmarks use the same protocol. It
// has no session cache: every handshake is a full one.
func clientTLS(env *testenv.Env) *tls.Config {
	conf := env.AdminTLS.Clone()
	conf.MinVersion = tls.VersionTLS13
	conf.ServerName = "127.0.0.1"
	return conf
}

// encodeCreate returns a pre-encoded KMIP 1.4 Create request for an
// unnamed AES-256 key (unnamed so that it can be sent any number of times).
func encodeCreate() []byte {
	return ttlv.MarshalTTLV(kmip.NewRequestMessage(kmip.V1_4, &payloads.CreateRequestPayload{
		ObjectType: kmip.ObjectTypeSymmetricKey,
		TemplateAttribute: kmip.TemplateAttribute{Attribute: []kmip.Attribute{
			{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES},
			{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: int32(256)},
			{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt},
		}},
	}))
}

// encodeGet returns a pre-encoded KMIP 1.4 Get request for id.
func encodeGet(id string) []byte {
	return ttlv.MarshalTTLV(kmip.NewRequestMessage(kmip.V1_4, &payloads.GetRequestPayload{UniqueIdentifier: id}))
}

// kmipConn is one persistent mutual-TLS connection to the KMIP listener.
type kmipConn struct {
	conn *tls.Conn
	br   *bufio.Reader
}

// dialKMIP connects to addr and completes the TLS handshake.
func dialKMIP(addr string, conf *tls.Config) (*kmipConn, error) {
	d := net.Dialer{Timeout: opTimeout}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: dial %s: %w", addr, err)
	}
	conn := tls.Client(raw, conf)
	_ = conn.SetDeadline(time.Now().Add(opTimeout))
	if err := conn.Handshake(); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("bench: handshake with %s: %w", addr, err)
	}
	return &kmipConn{conn: conn, br: bufio.NewReaderSize(conn, 4<<10)}, nil
}

// roundTrip sends one pre-encoded request and returns the whole response
// message, framed and validated by the wire package.
func (c *kmipConn) roundTrip(req []byte) ([]byte, error) {
	_ = c.conn.SetDeadline(time.Now().Add(opTimeout))
	if _, err := c.conn.Write(req); err != nil {
		return nil, fmt.Errorf("bench: write request: %w", err)
	}
	resp, err := wire.ReadMessageTag(c.br, wire.TagResponseMessage, maxResponse)
	if err != nil {
		return nil, fmt.Errorf("bench: read response: %w", err)
	}
	return resp, nil
}

// close closes the connection.
func (c *kmipConn) close() { _ = c.conn.Close() }

// dialPool opens n connections, closing them all with tb's cleanup.
func dialPool(tb testing.TB, addr string, conf *tls.Config, n int) []*kmipConn {
	tb.Helper()
	conns := make([]*kmipConn, 0, n)
	tb.Cleanup(func() {
		for _, c := range conns {
			c.close()
		}
	})
	for range n {
		c, err := dialKMIP(addr, conf)
		if err != nil {
			tb.Fatal(err)
		}
		conns = append(conns, c)
	}
	return conns
}

// decodeSuccess decodes a response message and returns the payload of its
// single batch item, or an error unless that item succeeded.
func decodeSuccess(resp []byte) (kmip.OperationPayload, error) {
	var msg kmip.ResponseMessage
	if err := ttlv.UnmarshalTTLV(resp, &msg); err != nil {
		return nil, fmt.Errorf("bench: decode response: %w", err)
	}
	if len(msg.BatchItem) != 1 {
		return nil, fmt.Errorf("bench: response has %d batch items, want 1", len(msg.BatchItem))
	}
	item := msg.BatchItem[0]
	if item.ResultStatus != kmip.ResultStatusSuccess {
		return nil, fmt.Errorf("bench: %v failed: %v %v: %s", item.Operation, item.ResultStatus, item.ResultReason, item.ResultMessage)
	}
	return item.ResponsePayload, nil
}

// createKey creates an AES-256 key over c and returns its identifier.
func createKey(c *kmipConn) (string, error) {
	resp, err := c.roundTrip(encodeCreate())
	if err != nil {
		return "", err
	}
	p, err := decodeSuccess(resp)
	if err != nil {
		return "", err
	}
	created, ok := p.(*payloads.CreateResponsePayload)
	if !ok || created.UniqueIdentifier == "" {
		return "", fmt.Errorf("bench: create answered %T without an identifier", p)
	}
	return created.UniqueIdentifier, nil
}

// checkGet decodes a Get response and checks that it succeeded for id and
// carries a symmetric key with 32 bytes of material.
func checkGet(resp []byte, id string) error {
	p, err := decodeSuccess(resp)
	if err != nil {
		return err
	}
	got, ok := p.(*payloads.GetResponsePayload)
	if !ok || got.UniqueIdentifier != id {
		return fmt.Errorf("bench: get %s answered %#v", id, p)
	}
	key, ok := got.Object.(*kmip.SymmetricKey)
	if !ok {
		return fmt.Errorf("bench: get %s answered a %T", id, got.Object)
	}
	material, err := key.KeyMaterial()
	if err != nil {
		return fmt.Errorf("bench: get %s: %w", id, err)
	}
	if len(material) != 32 {
		return fmt.Errorf("bench: get %s: %d bytes of key material, want 32", id, len(material))
	}
	return nil
}

// getFixture is an existing AES-256 key and everything needed to fetch it.
type getFixture struct {
	env     *testenv.Env
	conf    *tls.Config
	id      string
	req     []byte // pre-encoded Get request
	respLen int    // size of its response message
}

// newGetFixture starts a server, creates a key with a Create request and
// fetches it once, which also clears its Fresh attribute (the only write
// a Get ever makes), so that the measured Gets are pure reads. opts
// change how the server starts (its audit recorder, for example).
func newGetFixture(tb testing.TB, opts ...testenv.Option) *getFixture {
	tb.Helper()
	env := startServer(tb, opts...)
	conf := clientTLS(env)
	c, err := dialKMIP(env.KMIPAddr, conf)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.close()
	if v := c.conn.ConnectionState().Version; v != tls.VersionTLS13 {
		tb.Fatalf("KMIP connection negotiated TLS version %#x, want TLS 1.3", v)
	}
	id, err := createKey(c)
	if err != nil {
		tb.Fatal(err)
	}
	f := &getFixture{env: env, conf: conf, id: id, req: encodeGet(id)}
	for range 2 {
		resp, err := c.roundTrip(f.req)
		if err != nil {
			tb.Fatal(err)
		}
		if err := checkGet(resp, id); err != nil {
			tb.Fatal(err)
		}
		f.respLen = len(resp)
	}
	return f
}

// get sends the fixture's Get over c. Every response's size is checked;
// one in sampleEvery (and the first) is decoded and checked in full.
func (f *getFixture) get(c *kmipConn, i int) error {
	resp, err := c.roundTrip(f.req)
	if err != nil {
		return err
	}
	if len(resp) != f.respLen {
		return fmt.Errorf("bench: get response of %d bytes, want %d", len(resp), f.respLen)
	}
	if i%sampleEvery == 0 {
		return checkGet(resp, f.id)
	}
	return nil
}

// sampleEvery is how often a response is decoded in full.
const sampleEvery = 64
