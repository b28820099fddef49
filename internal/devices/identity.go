package devices

import (
	"context"
	"crypto/x509"
	"errors"
	"slices"

	"github.com/keywarden/keywarden/internal/pki"
)

// Resolve identifies the client behind a TLS client certificate, in this
// order:
//
//  1. a revoked certificate is ErrRevoked;
//  2. a certificate with the role admin, operator or auditor is that
//     administrator (role client goes on to the device table);
//  3. a certificate bound to a device is that device if it is active,
//     ErrPending if it is pending, ErrDisabled if it is disabled;
//  4. an unknown certificate is ErrRejected if an administrator rejected
//     it, else the "default" group's unknown-device policy decides:
//     reject (ErrRejected), accept (an active GENERIC device in "default"
//     is created and resolved) or pending (the certificate is held on the
//     pending list, ErrPending).
//
// Errors carry the fingerprint and subject for logs; the sentinels match
// with errors.Is.
func (r *Registry) Resolve(ctx context.Context, cert *x509.Certificate, remoteAddr string) (Principal, error) {
	if cert == nil || len(cert.Raw) == 0 {
		return Principal{}, detailf(ErrRejected, "no client certificate")
	}
	fp := Fingerprint(cert)
	if r.IsRevoked(fp) {
		return Principal{}, detailf(ErrRevoked, "certificate %s (%s) is revoked", fp, cert.Subject)
	}
	id, err := pki.IdentityFromCert(cert)
	switch {
	case err == nil:
		if r.roots != nil {
			if _, verr := cert.Verify(x509.VerifyOptions{Roots: r.roots, CurrentTime: r.now(),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); verr != nil {
				return Principal{}, detailf(ErrRejected, "certificate %s (%s) carries a role but was not issued by the server CA: %v", fp, cert.Subject, verr)
			}
		}
		if id.Role != pki.RoleClient {
			return r.rolePrincipal(id, fp)
		}
	case errors.Is(err, pki.ErrNoRole):
	default:
		return Principal{}, detailf(ErrRejected, "certificate %s (%s): %v", fp, cert.Subject, err)
	}

	d, err := r.DeviceByFingerprint(fp)
	if err == nil {
		return r.devicePrincipal(ctx, d, cert, fp)
	}
	if !isNotFound(err) {
		return Principal{}, err
	}
	return r.unknownCert(ctx, cert, fp, remoteAddr)
}

// rolePrincipal is the principal of an administrative certificate. Its
// objects go to the group named in the certificate when that group
// exists, else to "default".
func (r *Registry) rolePrincipal(id pki.Identity, fp string) (Principal, error) {
	p := Principal{Name: id.Name, Fingerprint: fp, Group: DefaultGroup, AllGroups: true}
	switch id.Role {
	case pki.RoleAdmin:
		p.Kind = KindAdmin
	case pki.RoleOperator:
		p.Kind, p.ReadOnly = KindOperator, true
	case pki.RoleAuditor:
		p.Kind, p.ReadOnly = KindAuditor, true
	default:
		return Principal{}, detailf(ErrRejected, "certificate %s (%s): role %q is not understood", fp, id.Name, id.Role)
	}
	if id.Group != "" {
		g, err := r.Group(id.Group)
		switch {
		case err == nil:
			p.Group = g.Name
		case isNotFound(err):
			r.log.Warn("devices: certificate names a group that does not exist; using default",
				"fingerprint", fp, "name", id.Name, "group", id.Group)
		default:
			return Principal{}, err
		}
	}
	return p, nil
}

// devicePrincipal is the principal of a certificate bound to device d.
func (r *Registry) devicePrincipal(ctx context.Context, d Device, cert *x509.Certificate, fp string) (Principal, error) {
	switch d.State {
	case StatePending:
		r.seen(ctx, d)
		return Principal{}, detailf(ErrPending, "device %s (%s %s), certificate %s, is waiting for an administrator's approval",
			d.ID, d.Family, d.Serial, fp)
	case StateDisabled:
		return Principal{}, detailf(ErrDisabled, "device %s (%s %s), certificate %s, is disabled", d.ID, d.Family, d.Serial, fp)
	case StateActive:
	default:
		return Principal{}, detailf(ErrRejected, "device %s has unknown state %q", d.ID, d.State)
	}
	g, err := r.Group(d.Group)
	if err != nil {
		r.log.Error("devices: device's group is missing", "device", d.ID, "group", d.Group, "err", err)
		return Principal{}, detailf(ErrRejected, "device %s: its group %q cannot be read", d.ID, d.Group)
	}
	r.seen(ctx, d)
	name := cert.Subject.CommonName
	if name == "" {
		name = d.ID
	}
	return Principal{
		Kind: KindDevice, Name: name, Fingerprint: fp, Group: g.Name,
		AllowedOps: slices.Clone(g.AllowedOps), DeviceID: d.ID,
	}, nil
}

// unknownCert applies the "default" group's policy to a certificate that
// is neither administrative nor bound to a device.
func (r *Registry) unknownCert(ctx context.Context, cert *x509.Certificate, fp, remoteAddr string) (Principal, error) {
	var rejected bool
	err := r.read(func(v view) (err error) {
		rejected, err = v.rejected(r.fpKey(fp))
		return err
	})
	if err != nil {
		return Principal{}, err
	}
	if rejected {
		return Principal{}, detailf(ErrRejected, "certificate %s (%s) was rejected by an administrator", fp, cert.Subject)
	}
	g, err := r.Group(DefaultGroup)
	if err != nil {
		return Principal{}, err
	}
	switch g.Unknown {
	case PolicyAccept:
		return r.acceptUnknown(ctx, cert, fp)
	case PolicyPending:
		if err := r.holdPending(ctx, cert, fp, remoteAddr); err != nil {
			return Principal{}, err
		}
		return Principal{}, detailf(ErrPending, "unknown certificate %s (%s) is waiting for an administrator's approval", fp, cert.Subject)
	default:
		return Principal{}, detailf(ErrRejected, "unknown certificate %s (%s) refused: group %q rejects unknown clients", fp, cert.Subject, g.Name)
	}
}

// acceptUnknown makes an unknown certificate an active GENERIC device in
// "default" and resolves it.
func (r *Registry) acceptUnknown(ctx context.Context, cert *x509.Certificate, fp string) (Principal, error) {
	serial := certSerial(cert)
	if serial == "" {
		serial = fp[:16]
	}
	now := r.clock()
	d, err := r.addDevice(ctx, Device{
		Family: FamilyGeneric, Serial: serial, Description: truncateText(cert.Subject.String(), maxTextLen),
		Group: DefaultGroup, State: StateActive, Fingerprints: []string{fp}, FirstSeen: now, LastSeen: now,
	}, addOpts{autoSerial: true, unattended: true})
	if errors.Is(err, ErrExists) {
		// Bound meanwhile by a concurrent connection or an administrator.
		if d, err = r.DeviceByFingerprint(fp); err != nil {
			return Principal{}, err
		}
	} else if err != nil {
		return Principal{}, err
	} else {
		r.log.Info("devices: unknown certificate accepted", "fingerprint", fp, "subject", d.Description, "device", d.ID)
	}
	return r.devicePrincipal(ctx, d, cert, fp)
}

// seen records that device d connected: LastSeen (and FirstSeen if unset)
// are written at most once a minute per device, never per connection. A
// failure is logged, not returned: it must not refuse a client.
func (r *Registry) seen(ctx context.Context, d Device) {
	now := r.clock()
	if recent(d.LastSeen, now) {
		return
	}
	r.seenMu.Lock()
	if recent(r.seenAt[d.ID], now) {
		r.seenMu.Unlock()
		return
	}
	r.seenAt[d.ID] = now
	r.seenMu.Unlock()
	_, err := r.updateDevice(ctx, d.ID, "record last seen of", func(x *Device) error {
		if recent(x.LastSeen, now) {
			return errUnchanged
		}
		x.LastSeen = now
		if x.FirstSeen.IsZero() {
			x.FirstSeen = now
		}
		return nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		r.log.Warn("devices: record last seen", "device", d.ID, "err", err)
	}
}
