package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/eedk"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

const (
	// flowDrives is the number of simulated 3592 drives sending requests
	// at the same time.
	flowDrives = 16
	// flowLabelBits is the RSA size of the benchmark's key labels (the
	// default label size).
	flowLabelBits = 2048
	flowLabel1    = "BENCH_LBL_1"
	flowLabel2    = "BENCH_LBL_2"
)

// flowDrive is one simulated 3592 drive: its own bound client certificate
// and one TLS connection to the device listener, kept for every request
// (docs/device-protocol.md: a connection carries requests in sequence).
// client/device dials once per call, so the drive speaks the codec itself
// and unwraps its keys with eedk.OpenAsDevice as client/device does.
type flowDrive struct {
	serial string
	priv   crypto.PrivateKey
	conn   *tls.Conn
}

// newFlowFixture starts a server with two labels and a 3592 group using
// them, and registers flowDrives drives, each bound to its own certificate.
func newFlowFixture(b *testing.B) []flowDrive {
	b.Helper()
	return flowFixtureOn(b, startServer(b), labels.CreateOptions{Bits: flowLabelBits})
}

// flowFixtureOn is newFlowFixture on a running server env, with labels
// created with opts.
func flowFixtureOn(b *testing.B, env *testenv.Env, opts labels.CreateOptions) []flowDrive {
	b.Helper()
	ctx := context.Background()
	for _, name := range []string{flowLabel1, flowLabel2} {
		if _, err := env.Server.Labels().Create(ctx, name, opts); err != nil {
			b.Fatal(err)
		}
	}
	reg := env.Server.Devices()
	if _, err := reg.CreateGroup(ctx, devices.Group{Name: "BENCH_3592", Family: devices.Family3592,
		Alias1: flowLabel1, Alias2: flowLabel2, Unknown: devices.PolicyReject}); err != nil {
		b.Fatal(err)
	}
	drives := make([]flowDrive, flowDrives)
	for i := range drives {
		serial := fmt.Sprintf("0000078%05d", i)
		conf := env.IssueClient(b, "drive-"+serial, pki.RoleClient)
		if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.Family3592, Serial: serial,
			Group: "BENCH_3592", State: devices.StateActive, Fingerprints: []string{leafFingerprint(b, conf)}}); err != nil {
			b.Fatal(err)
		}
		conn, err := tls.Dial("tcp", env.DeviceAddr, conf)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = conn.Close() })
		drives[i] = flowDrive{serial: serial, priv: conf.Certificates[0].PrivateKey, conn: conn}
	}
	return drives
}

// roundTrip sends req on the drive's connection and returns the answer of
// type want with the data key it carries, unwrapped by the drive.
func (d flowDrive) roundTrip(req codec.Message, want codec.Type, wrapped func(codec.Message) codec.WrappedKey) (codec.Message, []byte, error) {
	frame, err := codec.Encode(req)
	if err != nil {
		return nil, nil, err
	}
	if err := d.conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return nil, nil, err
	}
	if _, err := d.conn.Write(frame); err != nil {
		return nil, nil, fmt.Errorf("drive %s: send: %w", d.serial, err)
	}
	raw, err := codec.ReadMessage(d.conn, codec.MaxMessageSize)
	if err != nil {
		return nil, nil, fmt.Errorf("drive %s: read answer: %w", d.serial, err)
	}
	m, err := codec.Decode(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("drive %s: decode answer: %w", d.serial, err)
	}
	if e, ok := m.(codec.Error); ok {
		return nil, nil, fmt.Errorf("drive %s: refused: %s (%s)", d.serial, e.Status, e.Message)
	}
	if m.Type() != want {
		return nil, nil, fmt.Errorf("drive %s: answer of type %s, want %s", d.serial, m.Type(), want)
	}
	if m.ID() != req.ID() {
		return nil, nil, fmt.Errorf("drive %s: answer carries another request id", d.serial)
	}
	key, err := eedk.OpenAsDevice(d.priv, wrapped(m).Ciphertext, codec.WrapContext(want, req.ID()))
	if err != nil {
		return nil, nil, fmt.Errorf("drive %s: unwrap: %w", d.serial, err)
	}
	if len(key) != eedk.DataKeySize {
		return nil, nil, fmt.Errorf("drive %s: %d-byte data key", d.serial, len(key))
	}
	return m, key, nil
}

// newRequestID draws a random request id.
func newRequestID() (codec.RequestID, error) {
	var id codec.RequestID
	_, err := rand.Read(id[:])
	return id, err
}

// leafFingerprint is the device-table fingerprint of conf's certificate.
func leafFingerprint(tb testing.TB, conf *tls.Config) string {
	tb.Helper()
	leaf := conf.Certificates[0].Leaf
	if leaf == nil {
		tb.Fatal("client configuration without a parsed leaf certificate")
	}
	return devices.Fingerprint(leaf)
}

// writeKey is one 3592 write flow: a new data key and its two EEDKs.
func (d flowDrive) writeKey(volser string) ([]byte, codec.EEDK, codec.EEDK, error) {
	id, err := newRequestID()
	if err != nil {
		return nil, codec.EEDK{}, codec.EEDK{}, err
	}
	req := codec.WriteKeyRequest{RequestID: id, DriveSerial: d.serial, WWN: d.serial, Volser: volser}
	m, key, err := d.roundTrip(req, codec.TypeWriteKeyResponse, func(m codec.Message) codec.WrappedKey { return m.(codec.WriteKeyResponse).Key })
	if err != nil {
		return nil, codec.EEDK{}, codec.EEDK{}, err
	}
	r := m.(codec.WriteKeyResponse)
	return key, r.EEDK1, r.EEDK2, nil
}

// readKey is one 3592 read flow: the data key behind two EEDKs.
func (d flowDrive) readKey(volser string, e1, e2 codec.EEDK) ([]byte, error) {
	id, err := newRequestID()
	if err != nil {
		return nil, err
	}
	req := codec.ReadKeyRequest{RequestID: id, DriveSerial: d.serial, WWN: d.serial, Volser: volser, EEDK1: e1, EEDK2: e2}
	_, key, err := d.roundTrip(req, codec.TypeReadKeyResponse, func(m codec.Message) codec.WrappedKey { return m.(codec.ReadKeyResponse).Key })
	return key, err
}

// BenchmarkFlow3592 measures the 3592 write flow (a fresh data key wrapped
// under two labels' public keys, and for the drive) and the read flow (one
// EEDK unwrapped with a label's private key, re-wrapped for the drive),
// with flowDrives drives at once, each its own certificate and TLS
// connection. The drive's own unwrap of the key it receives is timed too.
func BenchmarkFlow3592(b *testing.B) {
	drives := newFlowFixture(b)
	b.Run("write", func(b *testing.B) {
		runWorkers(b, flowDrives, func(w, i int) error {
			_, _, _, err := drives[w].writeKey(fmt.Sprintf("W%05d", i%100000))
			return err
		})
	})
	b.Run("read", func(b *testing.B) {
		type volume struct {
			key    []byte
			e1, e2 codec.EEDK
		}
		vols := make([]volume, flowDrives)
		for w, d := range drives {
			key, e1, e2, err := d.writeKey(fmt.Sprintf("R%05d", w))
			if err != nil {
				b.Fatal(err)
			}
			vols[w] = volume{key, e1, e2}
		}
		runWorkers(b, flowDrives, func(w, i int) error {
			v := vols[w]
			key, err := drives[w].readKey(fmt.Sprintf("R%05d", w), v.e1, v.e2)
			if err != nil {
				return err
			}
			if !bytes.Equal(key, v.key) {
				return fmt.Errorf("read key: drive %s got another data key", drives[w].serial)
			}
			return nil
		})
	})
}

// BenchmarkRSAPrivate is the ceiling of the read flow: the raw RSA-OAEP
// (SHA-256) decryption rate with a key of the labels' size, on every core.
func BenchmarkRSAPrivate(b *testing.B) {
	priv, err := rsa.GenerateKey(rand.Reader, flowLabelBits)
	if err != nil {
		b.Fatal(err)
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &priv.PublicKey, make([]byte, 32), nil)
	if err != nil {
		b.Fatal(err)
	}
	workers := runtime.GOMAXPROCS(0)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	b.ResetTimer()
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if _, err := rsa.DecryptOAEP(sha256.New(), nil, priv, ct, nil); err != nil {
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if failed.Load() {
		b.Fatal("rsa: decrypt failed")
	}
	reportThroughput(b, b.N)
	b.ReportMetric(float64(workers), "cores")
}
