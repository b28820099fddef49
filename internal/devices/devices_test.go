package devices

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

var deviceIDPattern = regexp.MustCompile(`^dev-[0-9a-f]{12}$`)

func TestAddDeviceAndLookups(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "tapes", Family: Family3592, Alias1: "k1"})
	cert := selfSigned(t, "drive-1")
	fp := Fingerprint(cert)

	d, err := r.AddDevice(ctx, Device{Family: "3592", Serial: "0000078D4A01", WWN: "500507630F1A2B3C",
		Group: "TAPES", Fingerprints: []string{strings.ToUpper(fp)}})
	if err != nil {
		t.Fatal(err)
	}
	if !deviceIDPattern.MatchString(d.ID) {
		t.Fatalf("id %q", d.ID)
	}
	if d.Group != "tapes" || d.State != StateActive || !slices.Equal(d.Fingerprints, []string{fp}) {
		t.Fatalf("added %+v", d)
	}
	lookups := []struct {
		name string
		get  func() (Device, error)
	}{
		{"by id", func() (Device, error) { return r.Device(d.ID) }},
		{"by serial", func() (Device, error) { return r.DeviceBySerial(Family3592, "0000078D4A01") }},
		{"by serial other case", func() (Device, error) { return r.DeviceBySerial("3592", "0000078d4a01") }},
		{"by fingerprint", func() (Device, error) { return r.DeviceByFingerprint(fp) }},
	}
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			got, err := l.get()
			if err != nil || got.ID != d.ID || got.WWN != d.WWN {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
	misses := []struct {
		name string
		get  func() (Device, error)
	}{
		{"unknown id", func() (Device, error) { return r.Device("dev-000000000000") }},
		{"malformed id", func() (Device, error) { return r.Device("../x") }},
		{"serial in other family", func() (Device, error) { return r.DeviceBySerial(FamilyLTO, "0000078D4A01") }},
		{"unknown fingerprint", func() (Device, error) { return r.DeviceByFingerprint(strings.Repeat("1", 64)) }},
	}
	for _, l := range misses {
		t.Run(l.name, func(t *testing.T) {
			_, err := l.get()
			wantErr(t, err, ErrNotFound)
		})
	}
}

func TestAddDeviceRefusals(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "tapes", Family: Family3592})
	cert := selfSigned(t, "drive-1")
	first := mustDevice(t, r, Device{Family: Family3592, Serial: "S1", Group: "tapes", Fingerprints: []string{Fingerprint(cert)}})
	revoked := selfSigned(t, "gone")
	if err := r.Revoke(ctx, RevokedCert{Fingerprint: Fingerprint(revoked)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		d       Device
		want    error
		wantMsg string
	}{
		{name: "duplicate serial", d: Device{Family: Family3592, Serial: "S1", Group: "tapes"}, want: ErrExists,
			wantMsg: fmt.Sprintf(`3592 serial number "S1" is already device %s`, first.ID)},
		{name: "duplicate serial other case", d: Device{Family: Family3592, Serial: "s1", Group: "tapes"}, want: ErrExists},
		{name: "family mismatch", d: Device{Family: FamilyLTO, Serial: "L1", Group: "tapes"}, want: ErrInvalid,
			wantMsg: `a LTO device cannot be in group "tapes", whose family is 3592`},
		{name: "missing group", d: Device{Family: FamilyLTO, Serial: "L1", Group: "nosuch"}, want: ErrInvalid,
			wantMsg: `device group "nosuch" does not exist`},
		{name: "certificate bound elsewhere", d: Device{Family: FamilyLTO, Serial: "L2", Fingerprints: []string{Fingerprint(cert)}},
			want: ErrExists, wantMsg: "already bound to device " + first.ID},
		{name: "revoked certificate", d: Device{Family: FamilyLTO, Serial: "L3", Fingerprints: []string{Fingerprint(revoked)}},
			want: ErrInvalid, wantMsg: "revoked"},
		{name: "no serial", d: Device{Family: FamilyLTO}, want: ErrInvalid, wantMsg: "serial number is required"},
		{name: "bad id", d: Device{ID: "dev-xyz", Family: FamilyLTO, Serial: "L4"}, want: ErrInvalid},
		{name: "taken id", d: Device{ID: first.ID, Family: FamilyLTO, Serial: "L5"}, want: ErrExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.AddDevice(ctx, tt.d)
			wantErr(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
	// The same serial in another family is another device; GENERIC groups
	// take any family.
	mustDevice(t, r, Device{Family: FamilyLTO, Serial: "S1"})
	all, err := r.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Family != Family3592 || all[1].Family != FamilyLTO {
		t.Fatalf("Devices() = %+v", all)
	}
}

func TestModifyDevice(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "ltolib", Family: FamilyLTO})
	c1, c2 := selfSigned(t, "c1"), selfSigned(t, "c2")
	d := mustDevice(t, r, Device{Family: FamilyLTO, Serial: "A", Fingerprints: []string{Fingerprint(c1)}})
	other := mustDevice(t, r, Device{Family: FamilyLTO, Serial: "B"})

	got, err := r.ModifyDevice(ctx, d.ID, func(d *Device) error {
		d.Serial, d.Group, d.Fingerprints, d.KeyAlias = "A2", "ltolib", []string{Fingerprint(c2)}, "kg1"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != "A2" || got.Group != "ltolib" || got.KeyAlias != "kg1" {
		t.Fatalf("modified %+v", got)
	}
	// Old serial and certificate are free, the new ones point to d.
	if _, err := r.DeviceBySerial(FamilyLTO, "A"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old serial: %v", err)
	}
	if _, err := r.DeviceByFingerprint(Fingerprint(c1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old fingerprint: %v", err)
	}
	if x, err := r.DeviceByFingerprint(Fingerprint(c2)); err != nil || x.ID != d.ID {
		t.Fatalf("new fingerprint: %+v, %v", x, err)
	}
	mustDevice(t, r, Device{Family: FamilyLTO, Serial: "A", Fingerprints: []string{Fingerprint(c1)}})

	refusals := []struct {
		name string
		fn   func(*Device) error
		want error
	}{
		{"serial taken", func(x *Device) error { x.Serial = "B"; return nil }, ErrExists},
		{"id change", func(x *Device) error { x.ID = other.ID; return nil }, ErrInvalid},
		{"family mismatch", func(x *Device) error { x.Family = FamilyDS8K; return nil }, ErrInvalid},
		{"bad state", func(x *Device) error { x.State = "gone"; return nil }, ErrInvalid},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.ModifyDevice(ctx, d.ID, tt.fn)
			wantErr(t, err, tt.want)
		})
	}
	if _, err := r.ModifyDevice(ctx, "dev-000000000000", func(*Device) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing device: %v", err)
	}
	wantErr(t, r.DeleteDevice(ctx, d.ID), nil)
	wantErr(t, r.DeleteDevice(ctx, d.ID), ErrNotFound)
	if _, err := r.DeviceBySerial(FamilyLTO, "A2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("serial of deleted device: %v", err)
	}
	mustDevice(t, r, Device{Family: FamilyLTO, Serial: "A2", Fingerprints: []string{Fingerprint(c2)}})
}

func TestApproveReject(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	cert := selfSigned(t, "drive")
	p1 := mustDevice(t, r, Device{Family: FamilyLTO, Serial: "P1", State: StatePending})
	p2 := mustDevice(t, r, Device{Family: FamilyLTO, Serial: "P2", State: StatePending, Fingerprints: []string{Fingerprint(cert)}})
	active := mustDevice(t, r, Device{Family: FamilyLTO, Serial: "A1"})

	got, err := r.Approve(ctx, p1.ID)
	if err != nil || got.State != StateActive {
		t.Fatalf("approve: %+v, %v", got, err)
	}
	_, err = r.Approve(ctx, active.ID)
	wantErr(t, err, ErrInvalid)
	wantErr(t, r.Reject(ctx, active.ID), ErrInvalid)
	_, err = r.Approve(ctx, "dev-000000000000")
	wantErr(t, err, ErrNotFound)

	wantErr(t, r.Reject(ctx, p2.ID), nil)
	_, err = r.Device(p2.ID)
	wantErr(t, err, ErrNotFound)
	// Rejected: refused from then on, not parked again.
	_, err = r.Discover(ctx, Discovery{Family: FamilyLTO, Serial: "P2"})
	wantErr(t, err, ErrRejected)
	_, err = r.Resolve(ctx, cert, "192.0.2.1:1")
	wantErr(t, err, ErrRejected)
	if pc, _ := r.PendingCerts(); len(pc) != 0 {
		t.Fatalf("pending certificates %+v", pc)
	}
	if all, _ := r.Devices(); len(all) != 2 {
		t.Fatalf("devices after reject: %+v", all)
	}
	// An administrator adding it lifts the rejection.
	back := mustDevice(t, r, Device{Family: FamilyLTO, Serial: "P2", Fingerprints: []string{Fingerprint(cert)}})
	if d, err := r.Discover(ctx, Discovery{Family: FamilyLTO, Serial: "P2"}); err != nil || d.ID != back.ID {
		t.Fatalf("discover after re-add: %+v, %v", d, err)
	}
	if p, err := r.Resolve(ctx, cert, ""); err != nil || p.DeviceID != back.ID {
		t.Fatalf("resolve after re-add: %+v, %v", p, err)
	}
}

func TestConcurrentAddSameSerial(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	const n = 8
	var (
		wg   sync.WaitGroup
		errs = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = r.AddDevice(ctx, Device{Family: Family3592, Serial: "SAME", Description: fmt.Sprint(i)})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrExists):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d AddDevice calls won, want exactly 1 (errors %v)", won, errs)
	}
	if all, _ := r.Devices(); len(all) != 1 {
		t.Fatalf("%d devices stored", len(all))
	}
}

// Devices join one group concurrently without spurious conflicts, and a
// group deleted meanwhile never ends up with a member.
func TestConcurrentJoinAndDelete(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	for round := range 5 {
		name := fmt.Sprintf("g%d", round)
		mustGroup(t, r, Group{Name: name, Family: FamilyGeneric})
		const n = 10
		var wg sync.WaitGroup
		errs := make([]error, n)
		var delErr error
		for i := range n {
			wg.Go(func() {
				_, errs[i] = r.AddDevice(ctx, Device{Family: FamilyLTO, Serial: fmt.Sprintf("%s-%d", name, i), Group: name})
			})
		}
		wg.Go(func() { delErr = r.DeleteGroup(ctx, name) })
		wg.Wait()
		added := 0
		for _, err := range errs {
			if err == nil {
				added++
			} else if !errors.Is(err, ErrInvalid) { // group deleted first
				t.Fatalf("round %d: add: %v", round, err)
			}
		}
		_, gerr := r.Group(name)
		switch {
		case delErr == nil:
			if added != 0 || !errors.Is(gerr, ErrNotFound) {
				t.Fatalf("round %d: group deleted but %d devices were added (group err %v)", round, added, gerr)
			}
		case errors.Is(delErr, ErrGroupInUse):
			if added == 0 || gerr != nil {
				t.Fatalf("round %d: in use with %d devices, group err %v", round, added, gerr)
			}
		default:
			t.Fatalf("round %d: delete: %v", round, delErr)
		}
	}
}
