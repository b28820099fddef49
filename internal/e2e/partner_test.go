package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/sim/tape"
	"github.com/keywarden/keywarden/internal/testenv"
	"github.com/keywarden/keywarden/internal/usage"
)

const partnerLabel = "PARTNER"

// rekey sends a RekeyRequest over the device protocol, speaking the codec
// directly (client/device has no rekey call), and returns the new EEDKs.
func rekey(t *testing.T, addr string, conf *tls.Config, req codec.RekeyRequest) (codec.EEDK, codec.EEDK) {
	t.Helper()
	if _, err := rand.Read(req.RequestID[:]); err != nil {
		t.Fatal(err)
	}
	frame, err := codec.Encode(req)
	if err != nil {
		t.Fatal(err)
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: conf}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nc, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	raw, err := codec.ReadMessage(nc, 0)
	if err != nil {
		t.Fatalf("read rekey answer: %v", err)
	}
	m, err := codec.Decode(raw)
	if err != nil {
		t.Fatalf("decode rekey answer: %v", err)
	}
	if m.ID() != req.RequestID {
		t.Fatalf("answer carries request id %x, want %x", m.ID(), req.RequestID)
	}
	r, ok := m.(codec.RekeyResponse)
	if !ok {
		t.Fatalf("rekey answered %#v", m)
	}
	return r.EEDK1, r.EEDK2
}

// rewriteVolume writes data to a new image of volser under dataKey with the
// given EEDKs in its header: what a drive does after a rekey (the tape
// format draws a fresh salt for every image, so the data is re-encrypted
// under the same data key).
func rewriteVolume(t *testing.T, volser string, dataKey []byte, e1, e2 codec.EEDK, data []byte) []byte {
	t.Helper()
	var img bytes.Buffer
	h := tape.Header{Volser: volser, Key: tape.KeyRef{EEDKs: [2]tape.EEDK{toTape(e1), toTape(e2)}}}
	w, err := tape.NewWriter(&img, h, dataKey)
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

func headerEEDKs(t *testing.T, img []byte) (codec.EEDK, codec.EEDK) {
	t.Helper()
	h, err := tape.ReadHeader(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	return toCodec(h.Key.EEDKs[0]), toCodec(h.Key.EEDKs[1])
}

// TestPartnerRekey: server A re-wraps a volume's data key under a business
// partner's certificate (public key only on A); the partner's own server P,
// which holds the private key, serves the same data key to its drive and
// the file comes back bit for bit, while the original EEDKs mean nothing
// to P.
func TestPartnerRekey(t *testing.T) {
	ctx := context.Background()
	p := testenv.Start(t)
	pl, err := p.Server.Labels().Create(ctx, partnerLabel, labels.CreateOptions{Bits: 2048})
	if err != nil {
		t.Fatalf("partner label: %v", err)
	}
	certPEM, err := p.Server.Labels().ExportCert(ctx, partnerLabel)
	if err != nil {
		t.Fatal(err)
	}

	a := newTapeFixture(t)
	al, err := a.env.Server.Labels().ImportCert(ctx, partnerLabel, certPEM)
	if err != nil {
		t.Fatalf("import partner certificate on A: %v", err)
	}
	if al.HasPrivateKey || al.KeyHash != pl.KeyHash {
		t.Fatalf("partner label on A: %+v, want public only with key hash %s", al, pl.KeyHash)
	}

	ca := newDeviceClient(t, a.conf, a.env.DeviceAddr)
	data := randomData(t, 150_000)
	const volser = "PRT001"
	orig := writeVolume(t, ca, a.serial, volser, data)
	o1, o2 := headerEEDKs(t, orig)
	dkCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	dk, err := ca.ReadKey(dkCtx, a.serial, volser, o1, o2)
	if err != nil {
		t.Fatalf("read key on A: %v", err)
	}

	n1, n2 := rekey(t, a.env.DeviceAddr, a.conf, codec.RekeyRequest{DriveSerial: a.serial, Volser: volser,
		Label1: partnerLabel, Encoding1: codec.EncodingHash, Label2: partnerLabel, Encoding2: codec.EncodingLabel,
		EEDK1: o1, EEDK2: o2})
	wantHash, err := hex.DecodeString(pl.KeyHash)
	if err != nil {
		t.Fatal(err)
	}
	if n1.Encoding != codec.EncodingHash || !bytes.Equal(n1.KeyRef, wantHash) {
		t.Fatalf("rekeyed EEDK1: encoding %c ref %x, want H %x", n1.Encoding, n1.KeyRef, wantHash)
	}
	if n2.Encoding != codec.EncodingLabel || string(n2.KeyRef) != partnerLabel {
		t.Fatalf("rekeyed EEDK2: encoding %c ref %q, want L %q", n2.Encoding, n2.KeyRef, partnerLabel)
	}
	if bytes.Equal(n1.Data, o1.Data) || bytes.Equal(n2.Data, o2.Data) {
		t.Fatal("rekey returned the original wrapped keys")
	}
	rekeyed := rewriteVolume(t, volser, dk, n1, n2, data)
	if bytes.Contains(rekeyed, data[:4096]) {
		t.Fatal("plaintext in the rekeyed image")
	}

	t.Run("A cannot open the partner EEDKs", func(t *testing.T) {
		got, err := readVolume(ca, a.serial, rekeyed)
		if got != nil {
			t.Fatal("A returned data for EEDKs under a public-only label")
		}
		wantStatus(t, err, codec.StatusWrongState)
	})

	// The partner's drive: its own certificate from P's CA, in a 3592 group.
	reg := p.Server.Devices()
	if _, err := reg.CreateGroup(ctx, devices.Group{Name: "PARTNER_3592", Family: devices.Family3592,
		Alias1: partnerLabel, Alias2: partnerLabel, Unknown: devices.PolicyReject}); err != nil {
		t.Fatal(err)
	}
	pconf := p.IssueClient(t, "partner-drive", pki.RoleClient)
	const pserial = "000007999001"
	if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.Family3592, Serial: pserial,
		Group: "PARTNER_3592", State: devices.StateActive, Fingerprints: []string{certFingerprint(t, pconf)}}); err != nil {
		t.Fatal(err)
	}
	cp := newDeviceClient(t, pconf, p.DeviceAddr)

	t.Run("P reads the rekeyed volume", func(t *testing.T) {
		got, err := readVolume(cp, pserial, rekeyed)
		if err != nil {
			t.Fatalf("read on P: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("read on P: %d bytes differ from the %d written", len(got), len(data))
		}
	})
	for _, tc := range []struct {
		name string
		e    codec.EEDK
	}{
		{"P opens the H EEDK alone", n1},
		{"P opens the L EEDK alone", n2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			key, err := cp.ReadKey(ctx, pserial, volser, tc.e, tc.e)
			if err != nil {
				t.Fatalf("read key on P: %v", err)
			}
			if !bytes.Equal(key, dk) {
				t.Fatal("P returned another data key")
			}
		})
	}
	t.Run("P refuses the original EEDKs", func(t *testing.T) {
		got, err := readVolume(cp, pserial, orig)
		if got != nil {
			t.Fatal("P returned data for labels it does not hold")
		}
		wantStatus(t, err, codec.StatusNotFound)
	})
	t.Run("usage on P names the partner label", func(t *testing.T) {
		recs, err := p.Server.Usage().Query(ctx, usage.Query{Volser: volser})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range recs {
			if r.Operation == "read" && r.Outcome == "ok" && r.Alias1 == partnerLabel {
				found = true
			}
		}
		if !found {
			t.Fatalf("no read under %s in P's usage for %s: %+v", partnerLabel, volser, recs)
		}
	})
}

// selfSignedPair returns a new RSA-2048 key and a self-signed certificate
// for it, both PEM-encoded, as an administrator would carry between servers.
func selfSignedPair(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})
}

// TestPartnerFailover: two servers hold the same label key pairs and the
// same drive; the drive writes through the primary, the primary stops, and
// the client fails over to the secondary, which serves the read (and a new
// write) so the files come back bit for bit.
//
// The secondary is built from a copy of the primary's freshly initialised
// data directory, as the seed's backup key server is: both share the CA, so
// the drive's one certificate is trusted by both and both server
// certificates are trusted by the drive. Labels and devices are then added
// to each server separately.
func TestPartnerFailover(t *testing.T) {
	ctx := context.Background()
	dirA := filepath.Join(t.TempDir(), "a")
	if err := server.Init(ctx, server.InitConfig{DataDir: dirA}); err != nil {
		t.Fatal(err)
	}
	dirB := filepath.Join(t.TempDir(), "b")
	testenv.CopyDir(t, dirA, dirB)
	a := testenv.Start(t, testenv.WithDataDir(dirA))
	b := testenv.Start(t, testenv.WithDataDir(dirB))

	const l1, l2 = "FAILOVER_LBL_1", "FAILOVER_LBL_2"
	pairs := map[string][2][]byte{}
	for _, name := range []string{l1, l2} {
		c, k := selfSignedPair(t, name)
		pairs[name] = [2][]byte{c, k}
	}
	conf := a.IssueClient(t, "failover-drive", pki.RoleClient)
	const serial = "000007888500"
	for _, env := range []*testenv.Env{a, b} {
		for _, name := range []string{l1, l2} {
			if _, err := env.Server.Labels().ImportKeyPair(ctx, name, pairs[name][0], pairs[name][1]); err != nil {
				t.Fatalf("import %s: %v", name, err)
			}
		}
		reg := env.Server.Devices()
		if _, err := reg.CreateGroup(ctx, devices.Group{Name: "TAPES_3592", Family: devices.Family3592,
			Alias1: l1, Alias2: l2, Unknown: devices.PolicyReject}); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.AddDevice(ctx, devices.Device{Family: devices.Family3592, Serial: serial,
			Group: "TAPES_3592", State: devices.StateActive, Fingerprints: []string{certFingerprint(t, conf)}}); err != nil {
			t.Fatal(err)
		}
	}

	c := newDeviceClient(t, conf, a.DeviceAddr, b.DeviceAddr)
	data := randomData(t, 120_000)
	img := writeVolume(t, c, serial, "FOV001", data)
	if recs, err := a.Server.Usage().Query(ctx, usage.Query{Volser: "FOV001"}); err != nil || len(recs) != 1 || recs[0].Operation != "write" {
		t.Fatalf("write not served by A: %+v %v", recs, err)
	}

	stopCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := a.Server.Shutdown(stopCtx); err != nil {
		t.Fatalf("stop A: %v", err)
	}

	t.Run("read through B after A stops", func(t *testing.T) {
		got, err := readVolume(c, serial, img)
		if err != nil {
			t.Fatalf("read after failover: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("read after failover: %d bytes differ from the %d written", len(got), len(data))
		}
		recs, err := b.Server.Usage().Query(ctx, usage.Query{Volser: "FOV001"})
		if err != nil || len(recs) != 1 || recs[0].Operation != "read" || recs[0].Alias1 != l1 {
			t.Fatalf("usage on B for FOV001: %+v %v, want one read under %s", recs, err, l1)
		}
	})
	t.Run("write and read through B", func(t *testing.T) {
		data2 := randomData(t, 70_000)
		img2 := writeVolume(t, c, serial, "FOV002", data2)
		got, err := readVolume(c, serial, img2)
		if err != nil || !bytes.Equal(got, data2) {
			t.Fatalf("read back FOV002 through B: %d bytes, %v", len(got), err)
		}
	})
	t.Run("retry with the request id through failover", func(t *testing.T) {
		// Each call fails over from the stopped A to B with the same
		// request id; B answers the retry as the first time.
		req := codec.WriteKeyRequest{RequestID: codec.RequestID{9, 8, 7, 6}, DriveSerial: serial, WWN: serial, Volser: "FOV003"}
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		k1, e1, _, err := c.WriteKey(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		k2, e2, _, err := c.WriteKey(ctx, req)
		if err != nil {
			t.Fatalf("retry through failover: %v", err)
		}
		if !bytes.Equal(k1, k2) || !bytes.Equal(e1.Data, e2.Data) {
			t.Fatal("a retry with the same request id got another data key")
		}
	})
	t.Run("a client of A alone gets nothing", func(t *testing.T) {
		if _, err := readVolume(newDeviceClient(t, conf, a.DeviceAddr), serial, img); err == nil {
			t.Fatal("a stopped server answered")
		}
	})
}
