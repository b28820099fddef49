package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/client/device"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/sim/tape"
	"github.com/keywarden/keywarden/internal/testenv"
	"github.com/keywarden/keywarden/internal/usage"
)

const (
	tapeLabel1 = "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20"
	tapeLabel2 = "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21"
)

// tapeFixture is a running server with two labels, a 3592 group using
// them as defaults and one drive bound to its own client certificate.
type tapeFixture struct {
	env    *testenv.Env
	serial string
	conf   *tls.Config
}

func newTapeFixture(t *testing.T) *tapeFixture {
	t.Helper()
	env := testenv.Start(t)
	ctx := context.Background()
	for _, name := range []string{tapeLabel1, tapeLabel2} {
		if _, err := env.Server.Labels().Create(ctx, name, labels.CreateOptions{Bits: 2048}); err != nil {
			t.Fatalf("label %s: %v", name, err)
		}
	}
	reg := env.Server.Devices()
	if _, err := reg.CreateGroup(ctx, devices.Group{Name: "TAPES_3592", Family: devices.Family3592,
		Alias1: tapeLabel1, Alias2: tapeLabel2, Unknown: devices.PolicyReject}); err != nil {
		t.Fatal(err)
	}
	f := &tapeFixture{env: env, serial: "000007888422", conf: env.IssueClient(t, "drive01", pki.RoleClient)}
	if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.Family3592, Serial: f.serial,
		Group: "TAPES_3592", State: devices.StateActive, Fingerprints: []string{certFingerprint(t, f.conf)}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func newDeviceClient(t *testing.T, conf *tls.Config, servers ...string) *device.Client {
	t.Helper()
	c, err := device.New(device.Config{Servers: servers, TLS: conf, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeVolume writes data to a new tape image as drive serial would.
func writeVolume(t *testing.T, c *device.Client, serial, volser string, data []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key, e1, e2, err := c.WriteKey(ctx, codec.WriteKeyRequest{DriveSerial: serial, WWN: serial, Volser: volser})
	if err != nil {
		t.Fatalf("write key for %s: %v", volser, err)
	}
	var img bytes.Buffer
	h := tape.Header{Volser: volser, Key: tape.KeyRef{EEDKs: [2]tape.EEDK{toTape(e1), toTape(e2)}}}
	w, err := tape.NewWriter(&img, h, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return img.Bytes()
}

// readVolume asks for the key of a tape image and returns its data.
func readVolume(c *device.Client, serial string, img []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	src := bytes.NewReader(img)
	h, err := tape.ReadHeader(src)
	if err != nil {
		return nil, err
	}
	key, err := c.ReadKey(ctx, serial, h.Volser, toCodec(h.Key.EEDKs[0]), toCodec(h.Key.EEDKs[1]))
	if err != nil {
		return nil, err
	}
	r, err := tape.NewReader(src, h, key)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func toTape(e codec.EEDK) tape.EEDK {
	return tape.EEDK{Encoding: tape.Encoding(e.Encoding), LabelOrHash: string(e.KeyRef), Wrapped: e.Data}
}

func toCodec(e tape.EEDK) codec.EEDK {
	return codec.EEDK{Encoding: codec.Encoding(e.Encoding), KeyRef: []byte(e.LabelOrHash), Data: e.Wrapped}
}

func randomData(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// wantStatus fails unless err is a device.Error with status want.
func wantStatus(t *testing.T, err error, want codec.Status) {
	t.Helper()
	var de *device.Error
	if !errors.As(err, &de) || de.Status != want {
		t.Fatalf("got %v, want a refusal with status %s", err, want)
	}
}

// TestTapeDisposal: the usage query by label lists every volume written
// with it; once both labels' private keys are destroyed, reading any of
// them is refused with a clear status.
func TestTapeDisposal(t *testing.T) {
	f := newTapeFixture(t)
	ctx := context.Background()
	c := newDeviceClient(t, f.conf, f.env.DeviceAddr)
	data := randomData(t, 200_000)
	images := map[string][]byte{}
	for _, v := range []string{"WXY662", "WXY663"} {
		images[v] = writeVolume(t, c, f.serial, v, data)
		got, err := readVolume(c, f.serial, images[v])
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back %s before disposal: %d bytes, %v", v, len(got), err)
		}
	}

	for _, label := range []string{tapeLabel1, tapeLabel2} {
		recs, err := f.env.Server.Usage().Query(ctx, usage.Query{Alias: label})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range recs {
			seen[r.Volser] = true
		}
		if !seen["WXY662"] || !seen["WXY663"] {
			t.Fatalf("usage by label %s lists volumes %v, want WXY662 and WXY663", label, seen)
		}
	}

	admin := dialKMIP(t, f.env.KMIPAddr, f.env.AdminTLS)
	for _, label := range []string{tapeLabel1, tapeLabel2} {
		l, err := f.env.Server.Labels().Get(ctx, label)
		if err != nil || l.PrivateKeyID == "" {
			t.Fatalf("label %s: %+v %v", label, l, err)
		}
		admin.must(&payloads.RevokeRequestPayload{UniqueIdentifier: l.PrivateKeyID,
			RevocationReason: kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeCessationOfOperation}})
		admin.must(&payloads.DestroyRequestPayload{UniqueIdentifier: l.PrivateKeyID})
	}

	for v, img := range images {
		t.Run("read "+v+" after disposal", func(t *testing.T) {
			got, err := readVolume(c, f.serial, img)
			if got != nil {
				t.Fatal("data returned after the private keys were destroyed")
			}
			wantStatus(t, err, codec.StatusWrongState)
			t.Logf("refusal: %v", err)
		})
	}
}

// TestTapeFailover: the first server address is dead, the second live; the
// client moves on and the volume is written and read back, and a request
// retried with its request id is answered as the first time.
func TestTapeFailover(t *testing.T) {
	f := newTapeFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	c := newDeviceClient(t, f.conf, dead, f.env.DeviceAddr)
	data := randomData(t, 100_000)
	img := writeVolume(t, c, f.serial, "FAIL01", data)
	got, err := readVolume(c, f.serial, img)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back through failover: %d bytes, %v", len(got), err)
	}
	if _, err := readVolume(newDeviceClient(t, f.conf, dead), f.serial, img); err == nil {
		t.Fatal("a client with only a dead server got a key")
	}

	// A retry of an answered request, with its request id, after failing
	// over from the dead server gets the same answer, not a second key.
	req := codec.WriteKeyRequest{RequestID: codec.RequestID{1, 2, 3, 4}, DriveSerial: f.serial, WWN: f.serial, Volser: "FAIL02"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	k1, e1, _, err := newDeviceClient(t, f.conf, f.env.DeviceAddr).WriteKey(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	k2, e2, _, err := c.WriteKey(ctx, req)
	if err != nil {
		t.Fatalf("retry with the same request id through failover: %v", err)
	}
	if !bytes.Equal(k1, k2) || !bytes.Equal(e1.Data, e2.Data) {
		t.Fatal("a retry with the same request id got another data key")
	}
}

// TestTapeUnknownDrive: a drive whose certificate is in no device row asks
// for a write key; the default group's policy decides (identity.go).
func TestTapeUnknownDrive(t *testing.T) {
	f := newTapeFixture(t)
	ctx := context.Background()
	reg := f.env.Server.Devices()
	req := func(serial string) codec.WriteKeyRequest {
		return codec.WriteKeyRequest{DriveSerial: serial, WWN: serial, Volser: "UNK001",
			Label1: tapeLabel1, Label2: tapeLabel2}
	}
	write := func(c *device.Client, serial string) error {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		key, _, _, err := c.WriteKey(ctx, req(serial))
		if err == nil && len(key) != tape.KeySize {
			t.Fatalf("key of %d bytes", len(key))
		}
		return err
	}
	t.Run("reject", func(t *testing.T) {
		setDefaultPolicy(t, reg, devices.PolicyReject)
		c := newDeviceClient(t, f.env.IssueClient(t, "unknown-reject", pki.RoleClient), f.env.DeviceAddr)
		wantStatus(t, write(c, "000007000001"), codec.StatusUnknownDevice)
		if _, err := reg.DeviceBySerial(devices.Family3592, "000007000001"); err == nil {
			t.Fatal("a rejected drive was added to the table")
		}
	})
	t.Run("accept", func(t *testing.T) {
		setDefaultPolicy(t, reg, devices.PolicyAccept)
		c := newDeviceClient(t, f.env.IssueClient(t, "unknown-accept", pki.RoleClient), f.env.DeviceAddr)
		if err := write(c, "000007000002"); err != nil {
			t.Fatalf("accepted drive refused: %v", err)
		}
		d, err := reg.DeviceBySerial(devices.Family3592, "000007000002")
		if err != nil || d.State != devices.StateActive || d.Group != devices.DefaultGroup {
			t.Fatalf("accepted drive: %+v %v", d, err)
		}
	})
	t.Run("pending then approved", func(t *testing.T) {
		setDefaultPolicy(t, reg, devices.PolicyPending)
		c := newDeviceClient(t, f.env.IssueClient(t, "unknown-pending", pki.RoleClient), f.env.DeviceAddr)
		wantStatus(t, write(c, "000007000003"), codec.StatusPending)
		d, err := reg.DeviceBySerial(devices.Family3592, "000007000003")
		if err != nil || d.State != devices.StatePending {
			t.Fatalf("pending drive: %+v %v", d, err)
		}
		wantStatus(t, write(c, "000007000003"), codec.StatusPending)
		if _, err := reg.Approve(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		if err := write(c, "000007000003"); err != nil {
			t.Fatalf("approved drive refused: %v", err)
		}
	})
}
