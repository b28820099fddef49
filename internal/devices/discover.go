package devices

import (
	"context"
	"fmt"
	"strings"

	"github.com/keywarden/keywarden/internal/store"
)

// Discovery is what a device says about itself when it asks for service
// over the device protocol.
type Discovery struct {
	Family Family
	Serial string
	WWN    string
	// Group receives the device if it is unknown, and its unknown-device
	// policy decides; "default" when empty.
	Group string
	// RemoteAddr is the device's network address, for logs.
	RemoteAddr string
}

// Discover finds the device q describes, by family and serial number. A
// known device is returned if active (ErrPending if pending, ErrDisabled if
// disabled); its LastSeen is updated at most once a minute. An unknown
// device is ErrRejected if an administrator rejected its serial number,
// else the policy of q.Group decides: reject (ErrRejected), accept (the
// device is added, active) or pending (the device is added, pending, and
// returned with ErrPending).
func (r *Registry) Discover(ctx context.Context, q Discovery) (Device, error) {
	f, err := ParseFamily(string(q.Family))
	if err != nil {
		return Device{}, err
	}
	serial := strings.TrimSpace(q.Serial)
	if serial == "" {
		return Device{}, invalidf("serial number is required")
	}
	group := q.Group
	if group == "" {
		group = DefaultGroup
	}
	for range maxRetries {
		d, err := r.DeviceBySerial(f, serial)
		if err == nil {
			return r.knownDevice(ctx, d)
		}
		if !isNotFound(err) {
			return Device{}, err
		}
		if err := r.checkSerialRejected(f, serial); err != nil {
			return Device{}, err
		}
		g, err := r.Group(group)
		if err != nil {
			return Device{}, err
		}
		state := StatePending
		switch g.Unknown {
		case PolicyAccept:
			state = StateActive
		case PolicyPending:
		default:
			return Device{}, detailf(ErrRejected, "unknown %s device %q refused: group %q rejects unknown devices", f, serial, g.Name)
		}
		now := r.clock()
		d, err = r.addDevice(ctx, Device{
			Family: f, Serial: serial, WWN: q.WWN, Group: g.Name, State: state, FirstSeen: now, LastSeen: now,
		}, addOpts{unattended: true})
		if isExists(err) {
			continue // added meanwhile: look it up again
		}
		if err != nil {
			return Device{}, err
		}
		r.log.Info("devices: unknown device discovered", "device", d.ID, "family", f, "serial", serial,
			"group", d.Group, "state", d.State, "remote", q.RemoteAddr)
		if state == StatePending {
			return d, detailf(ErrPending, "device %s (%s %s) is waiting for an administrator's approval", d.ID, f, serial)
		}
		return d, nil
	}
	return Device{}, fmt.Errorf("devices: discover %s device %q: too many concurrent changes, try again: %w", f, serial, store.ErrConflict)
}

// knownDevice answers Discover for a device in the table.
func (r *Registry) knownDevice(ctx context.Context, d Device) (Device, error) {
	switch d.State {
	case StateActive:
		r.seen(ctx, d)
		return d, nil
	case StatePending:
		r.seen(ctx, d)
		return d, detailf(ErrPending, "device %s (%s %s) is waiting for an administrator's approval", d.ID, d.Family, d.Serial)
	case StateDisabled:
		return d, detailf(ErrDisabled, "device %s (%s %s) is disabled", d.ID, d.Family, d.Serial)
	}
	return d, detailf(ErrRejected, "device %s has unknown state %q", d.ID, d.State)
}

// checkSerialRejected returns ErrRejected if an administrator rejected the
// device of family f with serial number serial.
func (r *Registry) checkSerialRejected(f Family, serial string) error {
	var rej bool
	err := r.read(func(v view) (err error) {
		rej, err = v.rejected(r.serialKey(f, serial))
		return err
	})
	if err != nil {
		return err
	}
	if rej {
		return detailf(ErrRejected, "%s device %q was rejected by an administrator", f, serial)
	}
	return nil
}
