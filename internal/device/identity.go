package device

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/pki"
)

// requestInfo is what a request says about its device and volume.
type requestInfo struct {
	family    devices.Family
	serial    string
	wwn       string
	volser    string
	operation string // the usage record's operation
}

// describe returns the device-facing facts of a request.
func describe(msg codec.Message) (requestInfo, error) {
	switch m := msg.(type) {
	case codec.WriteKeyRequest:
		return requestInfo{devices.Family3592, m.DriveSerial, m.WWN, m.Volser, "write"}, nil
	case codec.ReadKeyRequest:
		return requestInfo{devices.Family3592, m.DriveSerial, m.WWN, m.Volser, "read"}, nil
	case codec.RekeyRequest:
		return requestInfo{devices.Family3592, m.DriveSerial, "", m.Volser, "rekey"}, nil
	case codec.LTOWriteRequest:
		return requestInfo{devices.FamilyLTO, m.DriveSerial, "", m.Volser, "lto-write"}, nil
	case codec.LTOReadRequest:
		return requestInfo{devices.FamilyLTO, m.DriveSerial, "", m.Volser, "lto-read"}, nil
	case codec.DiskKeyCreateRequest:
		return requestInfo{devices.FamilyDS8K, m.ArraySerial, "", "", "disk-create"}, nil
	case codec.DiskUnlockRequest:
		return requestInfo{devices.FamilyDS8K, m.ArraySerial, "", "", "disk-unlock"}, nil
	}
	return requestInfo{}, fmt.Errorf("%w: type %s", ErrBadRequest, msg.Type())
}

// identify returns the active device behind the peer's certificate for a
// request. A certificate bound to a device must be that device's, with
// the serial the request names and a family that fits the request. An
// unbound certificate goes through discovery by family and serial under
// the default group's unknown-device policy, if it is a device certificate
// (role client, or no role); a device found that way must not be bound to
// other certificates.
func (s *Server) identify(ctx context.Context, p *peer, info requestInfo) (devices.Device, error) {
	reg := s.opts.Registry
	fp := devices.Fingerprint(p.cert)
	if reg.IsRevoked(fp) {
		return devices.Device{}, devices.ErrRevoked
	}
	d, err := reg.DeviceByFingerprint(fp)
	switch {
	case err == nil:
		switch d.State {
		case devices.StateActive:
		case devices.StatePending:
			return d, devices.ErrPending
		default:
			return d, fmt.Errorf("device %s is %s: %w", d.ID, d.State, devices.ErrDisabled)
		}
	case errors.Is(err, devices.ErrNotFound):
		// Only a device certificate (role client, or none) may discover a
		// device: an administrator's or auditor's certificate is no drive.
		if id, rerr := pki.IdentityFromCert(p.cert); rerr == nil && id.Role != pki.RoleClient {
			return devices.Device{}, fmt.Errorf("certificate %q has role %s: %w", id.Name, id.Role, ErrNotDevice)
		} else if rerr != nil && !errors.Is(rerr, pki.ErrNoRole) {
			return devices.Device{}, fmt.Errorf("certificate role: %w: %w", ErrNotDevice, rerr)
		}
		d, err = reg.Discover(ctx, devices.Discovery{
			Family: info.family, Serial: info.serial, WWN: info.wwn,
			Group: devices.DefaultGroup, RemoteAddr: p.remote,
		})
		if err != nil {
			return d, fmt.Errorf("device: discover %s %q: %w", info.family, info.serial, err)
		}
		if len(d.Fingerprints) > 0 {
			return d, fmt.Errorf("device %s: %w", d.ID, ErrCertBoundElsewhere)
		}
	default:
		return devices.Device{}, fmt.Errorf("device: look up certificate: %w", err)
	}
	if d.Family != info.family && d.Family != devices.FamilyGeneric {
		return d, fmt.Errorf("device %s is %s, request needs %s: %w", d.ID, d.Family, info.family, ErrWrongFamily)
	}
	if !strings.EqualFold(d.Serial, info.serial) {
		return d, fmt.Errorf("device %s: %w", d.ID, ErrWrongSerial)
	}
	return d, nil
}
