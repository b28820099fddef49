package devices

import (
	"context"
	"crypto/x509"

	"strings"

	"github.com/keywarden/keywarden/internal/pki"
)

// ResolveSerial identifies a KMIP client that presents a Device credential
// (its serial number, SKLM's kmipAuthNeeded) over a certificate that is not
// bound to a device: the device with that serial number, whatever its
// family, is the principal. An unknown serial is a GENERIC device
// discovered in the "default" group, whose unknown-device policy decides
// (reject, accept, or pending until an administrator approves it).
// Revoked certificates and administrative certificates are handled as by
// Resolve.
func (r *Registry) ResolveSerial(ctx context.Context, cert *x509.Certificate, serial, remoteAddr string) (Principal, error) {
	if cert == nil || len(cert.Raw) == 0 {
		return Principal{}, detailf(ErrRejected, "no client certificate")
	}
	fp := Fingerprint(cert)
	if r.IsRevoked(fp) {
		return Principal{}, detailf(ErrRevoked, "certificate %s (%s) is revoked", fp, cert.Subject)
	}
	if id, err := pki.IdentityFromCert(cert); err == nil && id.Role != pki.RoleClient {
		return r.Resolve(ctx, cert, remoteAddr)
	}
	if d, err := r.DeviceByFingerprint(fp); err == nil {
		return r.devicePrincipal(ctx, d, cert, fp)
	}
	serial = strings.TrimSpace(serial)
	for _, f := range Families() {
		d, err := r.DeviceBySerial(f, serial)
		if err == nil {
			return r.devicePrincipal(ctx, d, cert, fp)
		}
		if !isNotFound(err) {
			return Principal{}, err
		}
	}
	d, err := r.Discover(ctx, Discovery{Family: FamilyGeneric, Serial: serial, Group: DefaultGroup, RemoteAddr: remoteAddr})
	if err != nil {
		return Principal{}, err
	}
	if d.State != StateActive {
		return Principal{}, detailf(ErrPending, "device %s (%s %s) is waiting for an administrator's approval", d.ID, d.Family, d.Serial)
	}
	return r.devicePrincipal(ctx, d, cert, fp)
}
