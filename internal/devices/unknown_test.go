package devices

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestResolveUnknownPolicies(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		policy      Policy
		want        error
		wantDevices int
		wantPending int
	}{
		{policy: PolicyReject, want: ErrRejected},
		{policy: PolicyAccept, wantDevices: 1},
		{policy: PolicyPending, want: ErrPending, wantPending: 1},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			r, _ := newRegistry(t, Options{DefaultPolicy: tt.policy})
			cert := selfSigned(t, "stranger")
			for range 2 { // a second connection changes nothing
				p, err := r.Resolve(ctx, cert, "198.51.100.9:5696")
				wantErr(t, err, tt.want)
				if tt.want == nil && (p.Kind != KindDevice || p.Group != DefaultGroup || p.DeviceID == "") {
					t.Fatalf("principal %+v", p)
				}
			}
			devs, _ := r.Devices()
			pending, _ := r.PendingCerts()
			if len(devs) != tt.wantDevices || len(pending) != tt.wantPending {
				t.Fatalf("%d devices, %d pending; want %d, %d", len(devs), len(pending), tt.wantDevices, tt.wantPending)
			}
			if tt.wantDevices == 1 {
				d := devs[0]
				if d.Family != FamilyGeneric || d.Serial != cert.SerialNumber.Text(16) || d.Description != cert.Subject.String() ||
					d.State != StateActive || d.Fingerprints[0] != Fingerprint(cert) {
					t.Fatalf("accepted device %+v", d)
				}
			}
			if tt.wantPending == 1 {
				pc := pending[0]
				if pc.Fingerprint != Fingerprint(cert) || pc.Subject != cert.Subject.String() || pc.RemoteAddr != "198.51.100.9:5696" ||
					pc.Serial != cert.SerialNumber.Text(16) || pc.FirstSeen.IsZero() {
					t.Fatalf("pending %+v", pc)
				}
			}
		})
	}
}

func TestPendingCertAcceptReject(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "clients", Family: FamilyGeneric, AllowedOps: []string{"Locate"}})
	mustGroup(t, r, Group{Name: "tapes", Family: Family3592})
	good, bad := selfSigned(t, "good"), selfSigned(t, "bad")
	_, err := r.Resolve(ctx, good, "")
	wantErr(t, err, ErrPending)
	_, err = r.Resolve(ctx, bad, "")
	wantErr(t, err, ErrPending)

	t.Run("accept", func(t *testing.T) {
		_, err := r.AcceptCert(ctx, Fingerprint(good), "tapes") // a GENERIC device cannot be in a 3592 group
		wantErr(t, err, ErrInvalid)
		d, err := r.AcceptCert(ctx, Fingerprint(good), "clients")
		if err != nil {
			t.Fatal(err)
		}
		if d.Group != "clients" || d.Family != FamilyGeneric || d.State != StateActive {
			t.Fatalf("device %+v", d)
		}
		p, err := r.Resolve(ctx, good, "")
		if err != nil || p.DeviceID != d.ID || p.Group != "clients" || len(p.AllowedOps) != 1 {
			t.Fatalf("principal %+v, %v", p, err)
		}
		_, err = r.AcceptCert(ctx, Fingerprint(good), "")
		wantErr(t, err, ErrNotFound) // no longer pending
	})
	t.Run("reject", func(t *testing.T) {
		wantErr(t, r.RejectCert(ctx, Fingerprint(bad)), nil)
		for range 2 {
			_, err := r.Resolve(ctx, bad, "")
			wantErr(t, err, ErrRejected)
		}
		if pending, _ := r.PendingCerts(); len(pending) != 0 {
			t.Fatalf("re-parked: %+v", pending)
		}
		wantErr(t, r.RejectCert(ctx, Fingerprint(bad)), ErrNotFound)
	})
	t.Run("unknown fingerprint", func(t *testing.T) {
		_, err := r.AcceptCert(ctx, Fingerprint(selfSigned(t, "x")), "")
		wantErr(t, err, ErrNotFound)
		wantErr(t, r.RejectCert(ctx, "xyz"), ErrInvalid)
	})
}

func TestPendingListBounded(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{MaxPendingCerts: 2})
	a, b, c := selfSigned(t, "a"), selfSigned(t, "b"), selfSigned(t, "c")
	_, err := r.Resolve(ctx, a, "")
	wantErr(t, err, ErrPending)
	_, err = r.Resolve(ctx, b, "")
	wantErr(t, err, ErrPending)
	_, err = r.Resolve(ctx, c, "")
	wantErr(t, err, ErrRejected)
	_, err = r.Resolve(ctx, a, "") // already held: still pending
	wantErr(t, err, ErrPending)
}

// Many connections of one unknown certificate under the accept policy make
// one device and are all served.
func TestConcurrentAcceptUnknown(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{DefaultPolicy: PolicyAccept})
	cert := selfSigned(t, "burst")
	const n = 8
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			p, err := r.Resolve(ctx, cert, "")
			ids[i], errs[i] = p.DeviceID, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("resolution %d: %q, %v (first %q)", i, ids[i], errs[i], ids[0])
		}
	}
	if devs, _ := r.Devices(); len(devs) != 1 {
		t.Fatalf("%d devices", len(devs))
	}
}

func TestLastSeenThrottled(t *testing.T) {
	ctx := context.Background()
	r, env := newRegistry(t, Options{})
	cert := selfSigned(t, "drive")
	d := mustDevice(t, r, Device{Family: FamilyLTO, Serial: "T1", Fingerprints: []string{Fingerprint(cert)}})
	t0 := env.clock.Now()
	steps := []struct {
		name       string
		advance    time.Duration
		wantWrites int64
		wantSeen   time.Time
	}{
		{"first connection", 0, 1, t0},
		{"10s later", 10 * time.Second, 0, t0},
		{"59s later", 49 * time.Second, 0, t0},
		{"61s later", 2 * time.Second, 1, t0.Add(61 * time.Second)},
		{"again at once", 0, 0, t0.Add(61 * time.Second)},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			env.clock.Advance(s.advance)
			before := env.st.applies.Load()
			if _, err := r.Resolve(ctx, cert, ""); err != nil {
				t.Fatal(err)
			}
			if got := env.st.applies.Load() - before; got != s.wantWrites {
				t.Fatalf("%d store writes, want %d", got, s.wantWrites)
			}
			got, err := r.Device(d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.LastSeen.Equal(s.wantSeen) || !got.FirstSeen.Equal(t0) {
				t.Fatalf("first/last seen %v / %v, want %v / %v", got.FirstSeen, got.LastSeen, t0, s.wantSeen)
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "acc", Family: Family3592, Unknown: PolicyAccept})
	mustGroup(t, r, Group{Name: "rej", Family: Family3592, Unknown: PolicyReject})
	mustGroup(t, r, Group{Name: "pend", Family: Family3592, Unknown: PolicyPending})
	mustGroup(t, r, Group{Name: "ltos", Family: FamilyLTO, Unknown: PolicyAccept})
	tests := []struct {
		name      string
		q         Discovery
		want      error
		wantState State
	}{
		{name: "accept", q: Discovery{Family: "3592", Serial: "A1", WWN: "W1", Group: "acc"}, wantState: StateActive},
		{name: "accepted one is known", q: Discovery{Family: "3592", Serial: "A1", Group: "rej"}, wantState: StateActive},
		{name: "reject", q: Discovery{Family: "3592", Serial: "R1", Group: "rej"}, want: ErrRejected},
		{name: "pending", q: Discovery{Family: "3592", Serial: "P1", Group: "pend"}, want: ErrPending, wantState: StatePending},
		{name: "pending again", q: Discovery{Family: "3592", Serial: "P1", Group: "acc"}, want: ErrPending, wantState: StatePending},
		{name: "default group policy", q: Discovery{Family: "LTO", Serial: "D1"}, want: ErrPending, wantState: StatePending},
		{name: "family does not fit group", q: Discovery{Family: "LTO", Serial: "X1", Group: "acc"}, want: ErrInvalid},
		{name: "missing group", q: Discovery{Family: "LTO", Serial: "X2", Group: "nosuch"}, want: ErrNotFound},
		{name: "no serial", q: Discovery{Family: "LTO"}, want: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := r.Discover(ctx, tt.q)
			wantErr(t, err, tt.want)
			if tt.wantState != "" && d.State != tt.wantState {
				t.Fatalf("device %+v, want state %s", d, tt.wantState)
			}
		})
	}
	if d, err := r.DeviceBySerial(Family3592, "A1"); err != nil || d.WWN != "W1" || d.Group != "acc" {
		t.Fatalf("discovered device %+v, %v", d, err)
	}
	if _, err := r.DeviceBySerial(Family3592, "R1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rejected device stored: %v", err)
	}
	p, err := r.DeviceBySerial(Family3592, "P1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ModifyDevice(ctx, p.ID, func(d *Device) error { d.State = StateDisabled; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err = r.Discover(ctx, Discovery{Family: "3592", Serial: "P1"})
	wantErr(t, err, ErrDisabled)
}
