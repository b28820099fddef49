package devices

import (
	"context"
	"slices"
	"strings"
)

// KindUser is a KMIP user named by a Username and Password credential.
const KindUser PrincipalKind = "kmip-user"

// Owner prefixes: a user's objects and a device's objects never share an
// owner even when a user name equals a device id.
const (
	ownerUser   = "user:"
	ownerDevice = "device:"
)

// NarrowToUser is the principal of KMIP user name, for a request that
// carries a Username and Password credential over a TLS client whose
// certificate resolved to cert. The credential narrows the certificate's
// identity, never widens it: the user's group must be one the
// certificate reaches, a read-only certificate stays read-only, and the
// operation limits of the certificate and of the user's group both apply.
// The user owns the objects it creates. A refusal is ErrBadCredential.
func (r *Registry) NarrowToUser(ctx context.Context, cert Principal, name string, password []byte) (Principal, error) {
	u, err := r.VerifyKMIPUser(ctx, name, password)
	if err != nil {
		return Principal{}, err
	}
	g, err := r.Group(u.Group)
	if isNotFound(err) {
		return Principal{}, detailf(ErrBadCredential, "kmip user %q: its group %q no longer exists", u.Name, u.Group)
	}
	if err != nil {
		return Principal{}, err
	}
	if !cert.AllGroups && !strings.EqualFold(cert.Group, g.Name) {
		return Principal{}, detailf(ErrBadCredential, "kmip user %q is in group %q, which the certificate of %q (group %q) does not reach",
			u.Name, g.Name, cert.Name, cert.Group)
	}
	return Principal{
		Kind: KindUser, Name: u.Name, Fingerprint: cert.Fingerprint, Group: g.Name,
		ReadOnly: cert.ReadOnly, AllowedOps: intersectOps(cert.AllowedOps, g.AllowedOps),
		DeviceID: cert.DeviceID, Owner: ownerUser + u.Name,
	}, nil
}

// NarrowToDevice is the principal of the registered device whose serial
// number a KMIP Device credential names, for a request over an
// administrative certificate (role admin, operator or auditor) that
// resolved to cert. A client certificate is resolved with its Device
// credential by ResolveSerial instead; this narrows an administrative
// identity to one device, which owns the objects it creates. The device
// must exist (any family) and be active; it is never discovered here. The
// credential's other fields (password, identifiers) are not checked: the
// device table keeps none. A refusal is ErrBadCredential.
func (r *Registry) NarrowToDevice(ctx context.Context, cert Principal, serial string) (Principal, error) {
	serial = strings.TrimSpace(serial)
	var (
		d     Device
		found bool
	)
	for _, f := range Families() {
		x, err := r.DeviceBySerial(f, serial)
		if err == nil {
			d, found = x, true
			break
		}
		if !isNotFound(err) {
			return Principal{}, err
		}
	}
	if !found {
		return Principal{}, detailf(ErrBadCredential, "device credential: no device has serial number %q", serial)
	}
	if d.State != StateActive {
		return Principal{}, detailf(ErrBadCredential, "device credential: device %s (%s %s) is %s", d.ID, d.Family, d.Serial, d.State)
	}
	g, err := r.Group(d.Group)
	if err != nil {
		return Principal{}, detailf(ErrBadCredential, "device credential: device %s: its group %q cannot be read", d.ID, d.Group)
	}
	if !cert.AllGroups && !strings.EqualFold(cert.Group, g.Name) {
		return Principal{}, detailf(ErrBadCredential, "device credential: device %s is in group %q, which the certificate does not reach", d.ID, g.Name)
	}
	r.seen(ctx, d)
	return Principal{
		Kind: KindDevice, Name: d.ID, Fingerprint: cert.Fingerprint, Group: g.Name,
		ReadOnly: cert.ReadOnly, AllowedOps: intersectOps(cert.AllowedOps, g.AllowedOps),
		DeviceID: d.ID, Owner: ownerDevice + d.ID,
	}, nil
}

// intersectOps combines two operation limits (empty: no limit): the
// operations both allow.
func intersectOps(a, b []string) []string {
	switch {
	case len(a) == 0:
		return slices.Clone(b)
	case len(b) == 0:
		return slices.Clone(a)
	}
	var out []string
	for _, op := range a {
		if slices.ContainsFunc(b, func(x string) bool { return squeeze(x) == squeeze(op) }) {
			out = append(out, op)
		}
	}
	if len(out) == 0 {
		// Nothing in common: allow nothing, not everything.
		out = []string{"-"}
	}
	return out
}
