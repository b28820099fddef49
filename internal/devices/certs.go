package devices

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// loadRevoked reads every revoked fingerprint into the in-memory set.
func (r *Registry) loadRevoked() error {
	var all []RevokedCert
	err := r.read(func(v view) (err error) {
		all, err = scan[RevokedCert](v, bucketRevoked)
		return err
	})
	if err != nil {
		return fmt.Errorf("devices: load revoked certificates: %w", err)
	}
	set := make(map[string]struct{}, len(all))
	for _, c := range all {
		set[c.Fingerprint] = struct{}{}
	}
	r.revMu.Lock()
	r.revoked = set
	r.revMu.Unlock()
	return nil
}

// ReloadRevoked reads the revoked certificates from the store again and
// adds those missing from memory: on a cluster node, a certificate revoked
// through another node reaches this node's store by replication, and is
// refused by this node's handshakes once reloaded. A revocation is
// permanent, so a reload only adds (and never races a concurrent Revoke
// into forgetting it).
func (r *Registry) ReloadRevoked(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("devices: reload revoked certificates: %w", err)
	}
	var all []RevokedCert
	err := r.read(func(v view) (err error) {
		all, err = scan[RevokedCert](v, bucketRevoked)
		return err
	})
	if err != nil {
		return fmt.Errorf("devices: reload revoked certificates: %w", err)
	}
	added := 0
	r.revMu.Lock()
	for _, c := range all {
		if _, ok := r.revoked[c.Fingerprint]; !ok {
			r.revoked[c.Fingerprint] = struct{}{}
			added++
		}
	}
	r.revMu.Unlock()
	if added > 0 {
		r.log.Info("devices: revoked certificates reloaded", "added", added)
	}
	return nil
}

// RevocationsChanged reports whether a write to buckets (the buckets a
// replicated batch wrote, see cluster.Config.OnApplied) may have revoked a
// certificate, so that ReloadRevoked is due.
func RevocationsChanged(buckets []string) bool {
	return slices.Contains(buckets, bucketRevoked)
}

// IsRevoked reports whether the certificate with fingerprint fp (lowercase
// hex SHA-256 of its DER) is revoked. It reads only memory.
func (r *Registry) IsRevoked(fp string) bool {
	r.revMu.RLock()
	_, ok := r.revoked[fp]
	r.revMu.RUnlock()
	return ok
}

// Revoke refuses a certificate on every listener from now on. Revoked is
// set to now when zero; the certificate leaves the pending list. A device
// bound to it stays in the table (Resolve refuses the certificate before
// looking for its device). A certificate already revoked is ErrExists.
func (r *Registry) Revoke(ctx context.Context, c RevokedCert) error {
	fp, err := NormalizeFingerprint(c.Fingerprint)
	if err != nil {
		return err
	}
	c.Fingerprint = fp
	if c.Revoked.IsZero() {
		c.Revoked = r.clock()
	}
	if err := checkLabel("subject", c.Subject, maxTextLen, true); err != nil {
		return err
	}
	if err := checkLabel("reason", c.Reason, maxTextLen, true); err != nil {
		return err
	}
	err = r.retry(ctx, "revoke certificate "+fp, func(cmd *store.Command) error {
		return r.read(func(v view) error {
			key := r.fpKey(fp)
			var prev RevokedCert
			_, found, err := v.record(bucketRevoked, key, &prev)
			if err != nil {
				return err
			}
			if found {
				r.markRevoked(fp)
				return existsf("certificate %s was already revoked on %s", fp, prev.Revoked.Format(time.RFC3339))
			}
			cmd.RequireAbsent(bucketRevoked, key)
			cmd.Delete(bucketPending, key)
			return r.put(cmd, bucketRevoked, key, c)
		})
	})
	if err != nil {
		return err
	}
	r.markRevoked(fp)
	r.log.Info("devices: certificate revoked", "fingerprint", fp, "subject", c.Subject, "reason", c.Reason)
	return nil
}

func (r *Registry) markRevoked(fp string) {
	r.revMu.Lock()
	r.revoked[fp] = struct{}{}
	r.revMu.Unlock()
}

// Revoked returns the revoked certificates, oldest revocation first.
func (r *Registry) Revoked() ([]RevokedCert, error) {
	var out []RevokedCert
	err := r.read(func(v view) (err error) {
		out, err = scan[RevokedCert](v, bucketRevoked)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b RevokedCert) int {
		if c := a.Revoked.Compare(b.Revoked); c != 0 {
			return c
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
	return out, nil
}

// PendingCerts returns the unknown certificates waiting for approval,
// first seen first.
func (r *Registry) PendingCerts() ([]PendingCert, error) {
	var out []PendingCert
	err := r.read(func(v view) (err error) {
		out, err = scan[PendingCert](v, bucketPending)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b PendingCert) int {
		if c := a.FirstSeen.Compare(b.FirstSeen); c != 0 {
			return c
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
	return out, nil
}

// AcceptCert accepts a pending certificate: it becomes an active GENERIC
// device in group (default "default") bound to it, with the certificate's
// serial number and subject. The group's family must be GENERIC.
func (r *Registry) AcceptCert(ctx context.Context, fingerprint, group string) (Device, error) {
	fp, err := NormalizeFingerprint(fingerprint)
	if err != nil {
		return Device{}, err
	}
	if group == "" {
		group = DefaultGroup
	}
	var pc PendingCert
	err = r.read(func(v view) error {
		_, found, err := v.record(bucketPending, r.fpKey(fp), &pc)
		if err != nil {
			return err
		}
		if !found {
			return notFoundf("certificate %s is not in the pending list", fp)
		}
		return nil
	})
	if err != nil {
		return Device{}, err
	}
	serial := pc.Serial
	if serial == "" {
		serial = fp[:16]
	}
	d, err := r.addDevice(ctx, Device{
		Family: FamilyGeneric, Serial: serial, Description: truncateText(pc.Subject, maxTextLen),
		Group: group, State: StateActive, Fingerprints: []string{fp},
		FirstSeen: pc.FirstSeen, LastSeen: pc.LastSeen,
	}, addOpts{pendingFP: fp, autoSerial: true})
	if err != nil {
		return Device{}, err
	}
	r.log.Info("devices: pending certificate accepted", "fingerprint", fp, "device", d.ID, "group", d.Group)
	return d, nil
}

// RejectCert takes a certificate off the pending list and remembers it as
// rejected: it is refused from then on without being parked again, until
// an administrator binds it to a device.
func (r *Registry) RejectCert(ctx context.Context, fingerprint string) error {
	fp, err := NormalizeFingerprint(fingerprint)
	if err != nil {
		return err
	}
	return r.retry(ctx, "reject certificate "+fp, func(cmd *store.Command) error {
		return r.read(func(v view) error {
			key := r.fpKey(fp)
			var pc PendingCert
			sealed, found, err := v.record(bucketPending, key, &pc)
			if err != nil {
				return err
			}
			if !found {
				return notFoundf("certificate %s is not in the pending list", fp)
			}
			cmd.RequireEqual(bucketPending, key, sealed)
			cmd.Delete(bucketPending, key)
			return r.put(cmd, bucketRejected, key, rejection{Fingerprint: fp, Subject: pc.Subject, Rejected: r.clock()})
		})
	})
}

// holdPending records an unknown certificate on the pending list, or
// refreshes its LastSeen at most once a minute. It refuses a certificate
// an administrator rejected, and a new one when the list is full.
func (r *Registry) holdPending(ctx context.Context, cert *x509.Certificate, fp, remoteAddr string) error {
	now := r.clock()
	var created *PendingCert
	err := r.retry(ctx, "hold certificate "+fp, func(cmd *store.Command) error {
		created = nil
		return r.read(func(v view) error {
			key := r.fpKey(fp)
			if rej, err := v.rejected(key); err != nil || rej {
				if err != nil {
					return err
				}
				return detailf(ErrRejected, "certificate %s (%s) was rejected by an administrator", fp, cert.Subject)
			}
			if _, bound, err := v.indexID(key); err != nil || bound {
				return err // bound meanwhile: the next connection is served
			}
			var pc PendingCert
			sealed, found, err := v.record(bucketPending, key, &pc)
			if err != nil {
				return err
			}
			if found {
				if recent(pc.LastSeen, now) {
					return nil
				}
				cmd.RequireEqual(bucketPending, key, sealed)
			} else {
				keys, _, err := v.rawAll(bucketPending)
				if err != nil {
					return err
				}
				n := len(keys)
				if n >= r.maxPending {
					return detailf(ErrRejected, "certificate %s (%s) refused: the pending list is full (%d certificates); accept or reject some first",
						fp, cert.Subject, n)
				}
				pc = PendingCert{Fingerprint: fp, Subject: truncateText(cert.Subject.String(), maxTextLen), FirstSeen: now,
					Serial: certSerial(cert), NotAfter: cert.NotAfter.UTC()}
				cmd.RequireAbsent(bucketPending, key)
				cmd.RequireAbsent(bucketIndex, key)
				cmd.RequireAbsent(bucketRejected, key)
				created = &pc
			}
			pc.LastSeen = now
			pc.RemoteAddr = truncateText(remoteAddr, maxLabelLen)
			return r.put(cmd, bucketPending, key, pc)
		})
	})
	if err == nil && created != nil {
		r.log.Info("devices: unknown certificate held for approval", "fingerprint", fp, "subject", created.Subject, "remote", remoteAddr)
	}
	return err
}

// certSerial is a certificate's serial number in hex, or "" if it has none.
func certSerial(cert *x509.Certificate) string {
	if cert.SerialNumber == nil || cert.SerialNumber.Sign() < 0 {
		return ""
	}
	s := cert.SerialNumber.Text(16)
	if len(s) > maxSerialLen {
		return ""
	}
	return s
}

// recent reports whether t is less than seenInterval before now (or after
// it, with a clock that went back).
func recent(t, now time.Time) bool {
	return !t.IsZero() && now.Sub(t) < seenInterval
}
