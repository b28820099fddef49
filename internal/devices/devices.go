package devices

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/keywarden/keywarden/internal/store"
)

// deviceIDPrefix starts every device id; 12 random hex digits follow.
const deviceIDPrefix = "dev-"

func newDeviceID() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("devices: new device id: %w", err)
	}
	return deviceIDPrefix + hex.EncodeToString(b[:]), nil
}

func validDeviceID(id string) bool {
	rest, ok := strings.CutPrefix(id, deviceIDPrefix)
	if !ok || len(rest) != 12 {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil && strings.ToLower(rest) == rest
}

// devRec is a device with the sealed bytes it was read from.
type devRec struct {
	d      Device
	sealed []byte
}

// device reads the device id.
func (v view) device(id string) (devRec, error) {
	if !validDeviceID(id) {
		return devRec{}, notFoundf("device %q not found", id)
	}
	var d Device
	sealed, found, err := v.record(bucketDevices, []byte(id), &d)
	if err != nil {
		return devRec{}, err
	}
	if !found || d.ID != id {
		return devRec{}, notFoundf("device %q not found", id)
	}
	return devRec{d: d, sealed: sealed}, nil
}

// deviceAt reads the device an index entry points to; found is false when
// the entry is missing.
func (v view) deviceAt(key []byte) (devRec, bool, error) {
	id, found, err := v.indexID(key)
	if err != nil || !found {
		return devRec{}, false, err
	}
	rec, err := v.device(id)
	if isNotFound(err) {
		return devRec{}, false, nil // removed since the index was read
	}
	return rec, err == nil, err
}

func cloneDevice(d Device) Device {
	d.Fingerprints = slices.Clone(d.Fingerprints)
	return d
}

// addOpts tune addDevice for the registry's own callers.
type addOpts struct {
	// pendingFP: the device accepts this pending certificate; the pending
	// entry must still exist and is removed in the same command.
	pendingFP string
	// autoSerial: the serial was derived from a certificate; on a clash it
	// gets the fingerprint's first 12 digits appended.
	autoSerial bool
	// unattended: no administrator asked for it, so rejections stand
	// (instead of being lifted as an administrator's add lifts them).
	unattended bool
}

// writeDevice appends to cmd what takes device prev (nil: none) to next:
// the record, its serial and fingerprint indexes, and the group checks.
// next must be normalized; its Group is set to the group's exact name.
func (r *Registry) writeDevice(v view, cmd *store.Command, prev *devRec, next *Device) error {
	g, gSealed, err := v.group(next.Group)
	if isNotFound(err) {
		return invalidf("device group %q does not exist", next.Group)
	}
	if err != nil {
		return err
	}
	if err := compatible(next.Family, g); err != nil {
		return err
	}
	next.Group = g.Name
	if prev == nil || prev.d.Group != next.Group || prev.d.Family != next.Family {
		cmd.RequireEqual(bucketGroups, r.groupKey(g.Name), gSealed)
		if err := r.putIndex(cmd, r.joinKey(g.Name), next.ID); err != nil {
			return err
		}
	}

	sk := r.serialKey(next.Family, next.Serial)
	var oldSK []byte
	if prev != nil {
		oldSK = r.serialKey(prev.d.Family, prev.d.Serial)
	}
	if !bytes.Equal(sk, oldSK) {
		owner, found, err := v.indexID(sk)
		if err != nil {
			return err
		}
		if found && owner != next.ID {
			return existsf("%s serial number %q is already device %s", next.Family, next.Serial, owner)
		}
		if oldSK != nil {
			cmd.Delete(bucketIndex, oldSK)
		}
		cmd.RequireAbsent(bucketIndex, sk)
		if err := r.putIndex(cmd, sk, next.ID); err != nil {
			return err
		}
		cmd.Delete(bucketRejected, sk)
	}

	var old []string
	if prev != nil {
		old = prev.d.Fingerprints
	}
	for _, fp := range old {
		if !slices.Contains(next.Fingerprints, fp) {
			cmd.Delete(bucketIndex, r.fpKey(fp))
		}
	}
	for _, fp := range next.Fingerprints {
		if slices.Contains(old, fp) {
			continue
		}
		if r.IsRevoked(fp) {
			return invalidf("certificate %s is revoked and cannot be bound to a device", fp)
		}
		fk := r.fpKey(fp)
		owner, found, err := v.indexID(fk)
		if err != nil {
			return err
		}
		if found && owner != next.ID {
			return existsf("certificate %s is already bound to device %s", fp, owner)
		}
		cmd.RequireAbsent(bucketIndex, fk)
		if err := r.putIndex(cmd, fk, next.ID); err != nil {
			return err
		}
		cmd.Delete(bucketPending, fk)
		cmd.Delete(bucketRejected, fk)
	}

	if prev == nil {
		cmd.RequireAbsent(bucketDevices, []byte(next.ID))
	} else {
		cmd.RequireEqual(bucketDevices, []byte(next.ID), prev.sealed)
	}
	return r.put(cmd, bucketDevices, []byte(next.ID), next)
}

// AddDevice adds a device. The id is assigned ("dev-" and 12 hex digits)
// unless d.ID is already one; an empty group is "default", an empty state
// active. Alias fields left empty fall back to the group's at serving
// time. Adding a device lifts an earlier rejection of its serial number
// and certificates, and takes its certificates off the pending list.
func (r *Registry) AddDevice(ctx context.Context, d Device) (Device, error) {
	return r.addDevice(ctx, d, addOpts{})
}

func (r *Registry) addDevice(ctx context.Context, d Device, o addOpts) (Device, error) {
	d, err := normalizeDevice(d)
	if err != nil {
		return Device{}, err
	}
	fixedID := d.ID != ""
	if fixedID && !validDeviceID(d.ID) {
		return Device{}, invalidf("device id %q: must be %q followed by 12 lowercase hex digits", d.ID, deviceIDPrefix)
	}
	var out Device
	err = r.retry(ctx, "add device", func(cmd *store.Command) error {
		next := cloneDevice(d)
		if !fixedID {
			id, err := newDeviceID()
			if err != nil {
				return err
			}
			next.ID = id
		}
		return r.read(func(v view) error {
			if fixedID {
				if _, err := v.device(next.ID); err == nil {
					return existsf("device %s already exists", next.ID)
				} else if !isNotFound(err) {
					return err
				}
			}
			if o.autoSerial && len(next.Fingerprints) > 0 {
				owner, found, err := v.indexID(r.serialKey(next.Family, next.Serial))
				if err != nil {
					return err
				}
				if found && owner != next.ID {
					next.Serial = truncateText(next.Serial, maxSerialLen-13) + "-" + next.Fingerprints[0][:12]
				}
			}
			if o.unattended {
				if err := r.requireNotRejected(v, cmd, &next, !o.autoSerial); err != nil {
					return err
				}
			}
			if o.pendingFP != "" {
				fk := r.fpKey(o.pendingFP)
				var pc PendingCert
				sealed, found, err := v.record(bucketPending, fk, &pc)
				if err != nil {
					return err
				}
				if !found {
					return notFoundf("certificate %s is not in the pending list", o.pendingFP)
				}
				cmd.RequireEqual(bucketPending, fk, sealed)
			}
			if err := r.writeDevice(v, cmd, nil, &next); err != nil {
				return err
			}
			out = next
			return nil
		})
	})
	if err != nil {
		return Device{}, err
	}
	return out, nil
}

// requireNotRejected refuses a device whose serial (when checkSerial) or
// certificates an administrator rejected, and makes cmd depend on that.
func (r *Registry) requireNotRejected(v view, cmd *store.Command, d *Device, checkSerial bool) error {
	if checkSerial {
		sk := r.serialKey(d.Family, d.Serial)
		if rej, err := v.rejected(sk); err != nil || rej {
			if err != nil {
				return err
			}
			return detailf(ErrRejected, "%s device %q was rejected by an administrator", d.Family, d.Serial)
		}
		cmd.RequireAbsent(bucketRejected, sk)
	}
	for _, fp := range d.Fingerprints {
		fk := r.fpKey(fp)
		if rej, err := v.rejected(fk); err != nil || rej {
			if err != nil {
				return err
			}
			return detailf(ErrRejected, "certificate %s was rejected by an administrator", fp)
		}
		cmd.RequireAbsent(bucketRejected, fk)
	}
	return nil
}

// errUnchanged tells updateDevice that fn decided nothing needs writing.
var errUnchanged = errors.New("devices: unchanged")

// updateDevice lets fn change a copy of device id and stores it, retrying
// when another writer changed the device meanwhile.
func (r *Registry) updateDevice(ctx context.Context, id, what string, fn func(*Device) error) (Device, error) {
	var out Device
	err := r.retry(ctx, what+" "+id, func(cmd *store.Command) error {
		var cur devRec
		err := r.read(func(v view) (err error) {
			cur, err = v.device(id)
			return err
		})
		if err != nil {
			return err
		}
		next := cloneDevice(cur.d)
		if err := fn(&next); err != nil {
			return err
		}
		if next.ID != cur.d.ID {
			return invalidf("device id %s cannot be changed", cur.d.ID)
		}
		if next, err = normalizeDevice(next); err != nil {
			return err
		}
		return r.read(func(v view) error {
			if err := r.writeDevice(v, cmd, &cur, &next); err != nil {
				return err
			}
			out = next
			return nil
		})
	})
	if err != nil {
		return Device{}, err
	}
	return out, nil
}

// ModifyDevice lets fn change a copy of device id and stores it. Every
// field but the id may change; the result is checked as AddDevice checks
// a new device.
func (r *Registry) ModifyDevice(ctx context.Context, id string, fn func(*Device) error) (Device, error) {
	return r.updateDevice(ctx, id, "modify device", fn)
}

// removeDevice appends the removal of a device and its indexes.
func (r *Registry) removeDevice(cmd *store.Command, cur devRec) {
	cmd.RequireEqual(bucketDevices, []byte(cur.d.ID), cur.sealed)
	cmd.Delete(bucketDevices, []byte(cur.d.ID))
	cmd.Delete(bucketIndex, r.serialKey(cur.d.Family, cur.d.Serial))
	for _, fp := range cur.d.Fingerprints {
		cmd.Delete(bucketIndex, r.fpKey(fp))
	}
}

// DeleteDevice removes device id. Its serial number and certificates
// become unknown again.
func (r *Registry) DeleteDevice(ctx context.Context, id string) error {
	err := r.retry(ctx, "delete device "+id, func(cmd *store.Command) error {
		return r.read(func(v view) error {
			cur, err := v.device(id)
			if err != nil {
				return err
			}
			r.removeDevice(cmd, cur)
			return nil
		})
	})
	if err == nil {
		r.forgetSeen(id)
	}
	return err
}

// forgetSeen drops a removed device from the LastSeen throttle.
func (r *Registry) forgetSeen(id string) {
	r.seenMu.Lock()
	delete(r.seenAt, id)
	r.seenMu.Unlock()
}

// Approve makes pending device id active.
func (r *Registry) Approve(ctx context.Context, id string) (Device, error) {
	return r.updateDevice(ctx, id, "approve device", func(d *Device) error {
		if d.State != StatePending {
			return invalidf("device %s is %s, not pending: only pending devices can be approved", d.ID, d.State)
		}
		d.State = StateActive
		return nil
	})
}

// Reject removes pending device id and remembers its serial number and
// certificates as rejected: they are refused from then on without being
// parked again, until an administrator adds a device with them.
func (r *Registry) Reject(ctx context.Context, id string) error {
	defer r.forgetSeen(id)
	return r.retry(ctx, "reject device "+id, func(cmd *store.Command) error {
		return r.read(func(v view) error {
			cur, err := v.device(id)
			if err != nil {
				return err
			}
			if cur.d.State != StatePending {
				return invalidf("device %s is %s, not pending: only pending devices can be rejected (delete it instead)", id, cur.d.State)
			}
			r.removeDevice(cmd, cur)
			now := r.clock()
			if err := r.put(cmd, bucketRejected, r.serialKey(cur.d.Family, cur.d.Serial),
				rejection{Family: cur.d.Family, Serial: cur.d.Serial, DeviceID: id, Rejected: now}); err != nil {
				return err
			}
			for _, fp := range cur.d.Fingerprints {
				if err := r.put(cmd, bucketRejected, r.fpKey(fp),
					rejection{Fingerprint: fp, DeviceID: id, Rejected: now}); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// Device returns device id.
func (r *Registry) Device(id string) (Device, error) {
	var rec devRec
	err := r.read(func(v view) (err error) {
		rec, err = v.device(id)
		return err
	})
	return rec.d, err
}

// DeviceBySerial returns the device of family f with serial number serial
// (any case).
func (r *Registry) DeviceBySerial(f Family, serial string) (Device, error) {
	f, err := ParseFamily(string(f))
	if err != nil {
		return Device{}, err
	}
	serial = strings.TrimSpace(serial)
	var rec devRec
	err = r.read(func(v view) error {
		got, found, err := v.deviceAt(r.serialKey(f, serial))
		if err != nil {
			return err
		}
		if !found || got.d.Family != f || !strings.EqualFold(got.d.Serial, serial) {
			return notFoundf("no %s device with serial number %q", f, serial)
		}
		rec = got
		return nil
	})
	return rec.d, err
}

// DeviceByFingerprint returns the device a certificate is bound to.
func (r *Registry) DeviceByFingerprint(fp string) (Device, error) {
	fp, err := NormalizeFingerprint(fp)
	if err != nil {
		return Device{}, err
	}
	var rec devRec
	err = r.read(func(v view) error {
		got, found, err := v.deviceAt(r.fpKey(fp))
		if err != nil {
			return err
		}
		if !found || !slices.Contains(got.d.Fingerprints, fp) {
			return notFoundf("no device bound to certificate %s", fp)
		}
		rec = got
		return nil
	})
	return rec.d, err
}

// Devices returns every device, sorted by family and serial number.
func (r *Registry) Devices() ([]Device, error) {
	var out []Device
	err := r.read(func(v view) (err error) {
		out, err = scan[Device](v, bucketDevices)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Device) int {
		if c := strings.Compare(string(a.Family), string(b.Family)); c != 0 {
			return c
		}
		return strings.Compare(a.Serial, b.Serial)
	})
	return out, nil
}
