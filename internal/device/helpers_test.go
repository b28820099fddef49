package device_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/eedk"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// drive is a test device: a client certificate and a connection speaking
// the protocol through codec.
type drive struct {
	t    *testing.T
	conf *tls.Config
	cert *x509.Certificate
	conn *tls.Conn
	addr string
}

// close closes the drive's connection, if any.
func (d *drive) close() {
	if d.conn != nil {
		d.conn.Close()
		d.conn = nil
	}
}

// newDrive issues a client certificate named name; when family is not
// empty, the certificate is bound to a new device of that family, serial
// and group, in state st.
func newDrive(t *testing.T, env *testenv.Env, name string, family devices.Family, serial, group string, st devices.State) *drive {
	t.Helper()
	conf := env.IssueClient(t, name, pki.RoleClient)
	cert, err := x509.ParseCertificate(conf.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if family != "" {
		_, err := env.Server.Devices().AddDevice(context.Background(), devices.Device{
			Family: family, Serial: serial, Group: group, State: st,
			Fingerprints: []string{devices.Fingerprint(cert)},
		})
		if err != nil {
			t.Fatalf("add device: %v", err)
		}
	}
	d := &drive{t: t, conf: conf, cert: cert, addr: env.DeviceAddr}
	t.Cleanup(d.close)
	return d
}

func (d *drive) dial() {
	d.t.Helper()
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: d.conf}
	c, err := dialer.DialContext(context.Background(), "tcp", d.addr)
	if err != nil {
		d.t.Fatal(err)
	}
	d.conn = c.(*tls.Conn)
}

// roundTrip sends a raw frame and returns the raw answer.
func (d *drive) roundTrip(frame []byte) []byte {
	d.t.Helper()
	if d.conn == nil {
		d.dial()
	}
	_ = d.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := d.conn.Write(frame); err != nil {
		d.t.Fatal(err)
	}
	out, err := codec.ReadMessage(d.conn, 0)
	if err != nil {
		d.t.Fatalf("read answer: %v", err)
	}
	return out
}

// do sends m and returns the answer and its raw frame.
func (d *drive) do(m codec.Message) (codec.Message, []byte) {
	d.t.Helper()
	frame, err := codec.Encode(m)
	if err != nil {
		d.t.Fatal(err)
	}
	raw := d.roundTrip(frame)
	got, err := codec.Decode(raw)
	if err != nil {
		d.t.Fatalf("decode answer: %v", err)
	}
	if got.ID() != m.ID() {
		d.t.Fatalf("answer carries request id %x, want %x", got.ID(), m.ID())
	}
	return got, raw
}

// open unwraps a key wrapped for this drive.
func (d *drive) open(wk codec.WrappedKey, respType codec.Type, id codec.RequestID) []byte {
	d.t.Helper()
	key, err := eedk.OpenAsDevice(d.conf.Certificates[0].PrivateKey, wk.Ciphertext, codec.WrapContext(respType, id))
	if err != nil {
		d.t.Fatalf("open wrapped key: %v", err)
	}
	if len(key) != eedk.DataKeySize {
		d.t.Fatalf("key of %d bytes", len(key))
	}
	return key
}

// wantStatus fails unless m is an Error with status st.
func wantStatus(t *testing.T, m codec.Message, st codec.Status) {
	t.Helper()
	e, ok := m.(codec.Error)
	if !ok {
		t.Fatalf("answer %T, want Error %s", m, st)
	}
	if e.Status != st {
		t.Fatalf("status %s (%q), want %s", e.Status, e.Message, st)
	}
}

func newID(t *testing.T) codec.RequestID {
	t.Helper()
	var id codec.RequestID
	if _, err := rand.Read(id[:]); err != nil {
		t.Fatal(err)
	}
	return id
}

// setup starts a server with two labels and a 3592 group "tapes" whose
// defaults are those labels.
func setup(t *testing.T) *testenv.Env {
	t.Helper()
	env := testenv.Start(t)
	ctx := context.Background()
	for _, name := range []string{"lbl_a", "lbl_b"} {
		if _, err := env.Server.Labels().Create(ctx, name, labels.CreateOptions{}); err != nil {
			t.Fatalf("create label %s: %v", name, err)
		}
	}
	if _, err := env.Server.Devices().CreateGroup(ctx, devices.Group{
		Name: "tapes", Family: devices.Family3592, Alias1: "lbl_a", Alias2: "lbl_b",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.Devices().CreateGroup(ctx, devices.Group{
		Name: "arrays", Family: devices.FamilyDS8K, Alias1: "lbl_b", Alias2: "lbl_a",
	}); err != nil {
		t.Fatal(err)
	}
	return env
}
