package e2e

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client/device"
	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// deviceFleet is a server with a 3592 drive, an LTO drive and a DS8000
// array, each bound to its own certificate.
type deviceFleet struct {
	env                     *testenv.Env
	rec                     *gatedRecorder
	tape, lto, array        *device.Client
	tapeConf                *tls.Config
	tapeSN, ltoSN, arraySN  string
	tapeFP, ltoFP, arrayFP  string
	tapeDev, ltoDev, arrDev devices.Device
}

func newDeviceFleet(t *testing.T) *deviceFleet {
	t.Helper()
	env, rec := startAudited(t)
	ctx := context.Background()
	for _, name := range []string{tapeLabel1, tapeLabel2} {
		if _, err := env.Server.Labels().Create(ctx, name, labels.CreateOptions{Bits: 2048}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Server.KeyGroups().Create(ctx, "auditlto", "aud01-02"); err != nil {
		t.Fatal(err)
	}
	reg := env.Server.Devices()
	for _, g := range []devices.Group{
		{Name: "AUDIT_3592", Family: devices.Family3592, Alias1: tapeLabel1, Alias2: tapeLabel2, Unknown: devices.PolicyReject},
		{Name: "AUDIT_LTO", Family: devices.FamilyLTO, KeyGroup: "auditlto", Unknown: devices.PolicyReject},
		{Name: "AUDIT_DS8K", Family: devices.FamilyDS8K, Alias1: tapeLabel2, Alias2: tapeLabel1, Unknown: devices.PolicyReject},
	} {
		if _, err := reg.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	setDefaultPolicy(t, reg, devices.PolicyReject)
	f := &deviceFleet{env: env, rec: rec, tapeSN: "000007888422", ltoSN: "LTO0000042", arraySN: "ARR0000042"}
	bind := func(name string, family devices.Family, serial, group string) (*device.Client, *tls.Config, string, devices.Device) {
		conf := env.IssueClient(t, name, pki.RoleClient)
		fp := certFingerprint(t, conf)
		d, err := reg.AddDevice(ctx, devices.Device{Family: family, Serial: serial, Group: group,
			State: devices.StateActive, Fingerprints: []string{fp}})
		if err != nil {
			t.Fatal(err)
		}
		return newDeviceClient(t, conf, env.DeviceAddr), conf, fp, d
	}
	f.tape, f.tapeConf, f.tapeFP, f.tapeDev = bind("audit-drive", devices.Family3592, f.tapeSN, "AUDIT_3592")
	f.lto, _, f.ltoFP, f.ltoDev = bind("audit-lto", devices.FamilyLTO, f.ltoSN, "AUDIT_LTO")
	f.array, _, f.arrayFP, f.arrDev = bind("audit-array", devices.FamilyDS8K, f.arraySN, "AUDIT_DS8K")
	return f
}

// deviceCtx bounds one device exchange.
func deviceCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAuditDeviceMessages: every device-protocol request, served, denied,
// failed or malformed, produces exactly one event; none holds a key.
func TestAuditDeviceMessages(t *testing.T) {
	f := newDeviceFleet(t)
	seen := &keyBytes{}
	var e1, e2, d1, d2 codec.EEDK
	var ltoID string

	type devStep struct {
		name    string
		op      string
		fp      string
		dev     devices.Device
		want    audit.Outcome
		typ     audit.Type
		volser  string
		labels  []string
		status  codec.Status // for refusals
		run     func(t *testing.T) error
		objects bool // the event must name the key served
	}
	steps := []devStep{
		{name: "3592 write", op: "write", fp: f.tapeFP, dev: f.tapeDev, want: audit.Success, typ: audit.TypeKey, volser: "AUD001",
			labels: []string{tapeLabel1, tapeLabel2}, run: func(t *testing.T) error {
				dk, a, b, err := f.tape.WriteKey(deviceCtx(t), codec.WriteKeyRequest{DriveSerial: f.tapeSN, WWN: f.tapeSN, Volser: "AUD001"})
				seen.add(dk)
				e1, e2 = a, b
				return err
			}},
		{name: "3592 read", op: "read", fp: f.tapeFP, dev: f.tapeDev, want: audit.Success, typ: audit.TypeKey, volser: "AUD001",
			run: func(t *testing.T) error {
				dk, err := f.tape.ReadKey(deviceCtx(t), f.tapeSN, "AUD001", e1, e2)
				seen.add(dk)
				return err
			}},
		{name: "3592 rekey", op: "rekey", fp: f.tapeFP, dev: f.tapeDev, want: audit.Success, typ: audit.TypeKey, volser: "AUD001",
			labels: []string{tapeLabel2, tapeLabel1}, run: func(t *testing.T) error {
				_, _, err := f.tape.Rekey(deviceCtx(t), codec.RekeyRequest{DriveSerial: f.tapeSN, Volser: "AUD001",
					Label1: tapeLabel2, Label2: tapeLabel1, EEDK1: e1, EEDK2: e2})
				return err
			}},
		{name: "LTO write", op: "lto-write", fp: f.ltoFP, dev: f.ltoDev, want: audit.Success, typ: audit.TypeKey, volser: "AUD002",
			objects: true, run: func(t *testing.T) error {
				id, k, err := f.lto.LTOWrite(deviceCtx(t), f.ltoSN, "AUD002", "")
				ltoID = id
				seen.add(k)
				return err
			}},
		{name: "LTO read", op: "lto-read", fp: f.ltoFP, dev: f.ltoDev, want: audit.Success, typ: audit.TypeKey, volser: "AUD002",
			objects: true, run: func(t *testing.T) error {
				k, err := f.lto.LTORead(deviceCtx(t), f.ltoSN, "AUD002", ltoID)
				seen.add(k)
				return err
			}},
		{name: "disk create", op: "disk-create", fp: f.arrayFP, dev: f.arrDev, want: audit.Success, typ: audit.TypeKey,
			labels: []string{tapeLabel2, tapeLabel1}, run: func(t *testing.T) error {
				k, a, b, err := f.array.DiskKeyCreate(deviceCtx(t), f.arraySN)
				seen.add(k)
				d1, d2 = a, b
				return err
			}},
		{name: "disk unlock", op: "disk-unlock", fp: f.arrayFP, dev: f.arrDev, want: audit.Success, typ: audit.TypeKey,
			run: func(t *testing.T) error {
				k, err := f.array.DiskUnlock(deviceCtx(t), f.arraySN, d1, d2)
				seen.add(k)
				return err
			}},
		{name: "denied: serial of another drive", op: "write", fp: f.tapeFP, dev: f.tapeDev, want: audit.Denied, typ: audit.TypeAuth,
			volser: "AUD003", status: codec.StatusRefused, run: func(t *testing.T) error {
				_, _, _, err := f.tape.WriteKey(deviceCtx(t), codec.WriteKeyRequest{DriveSerial: "000009999999", WWN: "x", Volser: "AUD003"})
				return err
			}},
		{name: "denied: LTO drive asks for a 3592 key", op: "write", fp: f.ltoFP, dev: f.ltoDev, want: audit.Denied, typ: audit.TypeAuth,
			volser: "AUD004", status: codec.StatusRefused, run: func(t *testing.T) error {
				_, _, _, err := f.lto.WriteKey(deviceCtx(t), codec.WriteKeyRequest{DriveSerial: f.ltoSN, WWN: "x", Volser: "AUD004"})
				return err
			}},
		{name: "failure: unknown LTO key id", op: "lto-read", fp: f.ltoFP, dev: f.ltoDev, want: audit.Failure, typ: audit.TypeKey,
			volser: "AUD002", status: codec.StatusNotFound, run: func(t *testing.T) error {
				_, err := f.lto.LTORead(deviceCtx(t), f.ltoSN, "AUD002", "no-such-key")
				return err
			}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var err error
			ev := oneEvent(t, f.rec, audit.ProtoDevice, func() { err = st.run(t) })
			if st.want == audit.Success && err != nil {
				t.Fatal(err)
			}
			if st.want != audit.Success {
				wantStatus(t, err, st.status)
			}
			if ev.Operation != st.op || ev.Outcome != st.want || ev.Type != st.typ {
				t.Fatalf("event %s %s %s (%s), want %s %s %s", ev.Operation, ev.Outcome, ev.Type, ev.Reason, st.op, st.want, st.typ)
			}
			if ev.Client.Fingerprint != st.fp || ev.Client.DeviceID != st.dev.ID || ev.Client.Role != "device" {
				t.Fatalf("client %+v, want device %s with fingerprint %s", ev.Client, st.dev.ID, st.fp)
			}
			if st.want == audit.Success && ev.Client.Serial != st.dev.Serial {
				t.Fatalf("serial %q, want %q", ev.Client.Serial, st.dev.Serial)
			}
			if ev.Volser != st.volser {
				t.Fatalf("volser %q, want %q", ev.Volser, st.volser)
			}
			if st.labels != nil && !slices.Equal(ev.Labels, st.labels) {
				t.Fatalf("labels %v, want %v", ev.Labels, st.labels)
			}
			if st.objects && len(ev.Objects) != 1 {
				t.Fatalf("objects %v, want the LTO key's id", ev.Objects)
			}
		})
	}

	t.Run("denied: unknown drive", func(t *testing.T) {
		conf := f.env.IssueClient(t, "audit-stranger", pki.RoleClient)
		c := newDeviceClient(t, conf, f.env.DeviceAddr)
		var err error
		ev := oneEvent(t, f.rec, audit.ProtoDevice, func() {
			_, _, _, err = c.WriteKey(deviceCtx(t), codec.WriteKeyRequest{DriveSerial: "000001111111", WWN: "y", Volser: "AUD005"})
		})
		wantStatus(t, err, codec.StatusUnknownDevice)
		if ev.Outcome != audit.Denied || ev.Type != audit.TypeAuth || ev.Client.Fingerprint != certFingerprint(t, conf) || ev.Client.Serial != "000001111111" {
			t.Fatalf("event %+v", ev)
		}
	})

	t.Run("denied: revoked certificate at the handshake", func(t *testing.T) {
		conf := f.env.IssueClient(t, "audit-revoked-drive", pki.RoleClient)
		if err := f.env.Server.Devices().Revoke(context.Background(), devices.RevokedCert{Fingerprint: certFingerprint(t, conf), Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		f.rec.Reset()
		_ = handshake(f.env.DeviceAddr, conf)
		ev := waitEvent(t, f.rec, audit.ProtoDevice, "handshake")
		if ev.Outcome != audit.Denied || ev.Type != audit.TypeAuth {
			t.Fatalf("event %+v", ev)
		}
	})

	malformed := []struct {
		name   string
		frame  func(t *testing.T) []byte
		op     string
		answer bool
	}{
		{"request missing its fields", func(t *testing.T) []byte {
			return rawFrame(t, codec.TypeWriteKeyRequest, nil)
		}, "write", true},
		{"a response type sent as a request", func(t *testing.T) []byte {
			b, err := codec.Encode(codec.Error{RequestID: newRequestID(t), Status: codec.StatusInternal, Message: "x"})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, "Error", true},
		{"bad magic", func(t *testing.T) []byte {
			b := rawFrame(t, codec.TypeWriteKeyRequest, nil)
			copy(b, "XXXX")
			return b
		}, "frame", false},
	}
	for _, tt := range malformed {
		t.Run("malformed: "+tt.name, func(t *testing.T) {
			f.rec.Reset()
			answer := sendRawFrame(t, f.env.DeviceAddr, f.tapeConf, tt.frame(t))
			if tt.answer {
				m, err := codec.Decode(answer)
				if err != nil {
					t.Fatal(err)
				}
				if e, ok := m.(codec.Error); !ok || e.Status != codec.StatusBadRequest {
					t.Fatalf("answer %#v, want a BadRequest error", m)
				}
			}
			ev := waitEvent(t, f.rec, audit.ProtoDevice, tt.op)
			if n := len(eventsOf(f.rec, audit.ProtoDevice)); n != 1 {
				t.Fatalf("%d events, want 1", n)
			}
			if ev.Outcome != audit.Failure || ev.Client.Fingerprint != f.tapeFP {
				t.Fatalf("event %+v", ev)
			}
		})
	}

	t.Run("no key material in the trail", func(t *testing.T) {
		seen.assertNotIn(t, f.rec.Events())
	})
}

func newRequestID(t *testing.T) codec.RequestID {
	t.Helper()
	var id codec.RequestID
	if _, err := rand.Read(id[:]); err != nil {
		t.Fatal(err)
	}
	return id
}

// rawFrame builds a frame header of type typ with body, bypassing the
// encoder's checks.
func rawFrame(t *testing.T, typ codec.Type, body []byte) []byte {
	t.Helper()
	id := newRequestID(t)
	b := make([]byte, codec.HeaderSize, codec.HeaderSize+len(body))
	copy(b, codec.Magic)
	b[4], b[5] = codec.Version, byte(typ)
	copy(b[8:24], id[:])
	n := len(body)
	b[24], b[25], b[26], b[27] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return append(b, body...)
}

// sendRawFrame sends frame on a new connection and returns the answer
// frame, or nil if the server closed the connection without one.
func sendRawFrame(t *testing.T, addr string, conf *tls.Config, frame []byte) []byte {
	t.Helper()
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: conf}
	nc, err := dialer.DialContext(deviceCtx(t), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	raw, err := codec.ReadMessage(nc, 0)
	if err != nil {
		return nil
	}
	return raw
}
