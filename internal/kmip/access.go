package kmip

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

// Resolver identifies the principal behind a client certificate: the
// device registry.
type Resolver interface {
	Resolve(ctx context.Context, cert *x509.Certificate, remoteAddr string) (devices.Principal, error)
	IsRevoked(fingerprint string) bool
}

// SerialResolver is a Resolver that also identifies a client by the serial
// number of a KMIP Device credential.
type SerialResolver interface {
	ResolveSerial(ctx context.Context, cert *x509.Certificate, serial, remoteAddr string) (devices.Principal, error)
}

// deviceSerial returns the serial number of a request's Device
// credential, if it has one.
func deviceSerial(h kmip.RequestHeader) string {
	if h.Authentication == nil {
		return ""
	}
	for _, c := range append([]kmip.Credential{h.Authentication.Credential}, h.Authentication.AdditionalCredential...) {
		if c.CredentialType == kmip.CredentialTypeDevice && c.CredentialValue.Device != nil {
			return c.CredentialValue.Device.DeviceSerialNumber
		}
	}
	return ""
}

// Metrics receives one observation per batch item.
type Metrics interface {
	ObserveRequest(protocol, operation, outcome string, d time.Duration)
}

// RouterOption configures a Router.
type RouterOption func(*Router)

// WithResolver makes the router resolve every request's certificate to a
// principal and scope the request to it. Without one, every client is
// treated as an administrator (tests of the protocol alone).
func WithResolver(res Resolver) RouterOption { return func(r *Router) { r.resolver = res } }

// WithMetrics reports every batch item to m.
func WithMetrics(m Metrics) RouterOption { return func(r *Router) { r.metrics = m } }

// principalTTL is how long a resolved principal is reused on one
// connection. Revocation is checked on every request regardless.
const principalTTL = 2 * time.Second

type cachedPrincipal struct {
	fingerprint string
	serial      string
	p           devices.Principal
	until       time.Time
}

// principals caches resolutions per connection.
type principals struct {
	mu sync.Mutex
	m  map[uint64]cachedPrincipal
}

var (
	errAuthRevoked  = kerr(kmip.ResultReasonAuthenticationNotSuccessful, "certificate revoked")
	errAuthPending  = kerr(kmip.ResultReasonAuthenticationNotSuccessful, "client waiting for an administrator's approval")
	errAuthRefused  = kerr(kmip.ResultReasonAuthenticationNotSuccessful, "client not accepted")
	errAuthNoCert   = kerr(kmip.ResultReasonAuthenticationNotSuccessful, "no client certificate")
	errOpNotAllowed = kerr(kmip.ResultReasonPermissionDenied, "operation not permitted for this client")
)

// principal resolves the peer, reusing a recent answer on the same
// connection.
// fp is the certificate's fingerprint (pki.Fingerprint).
func (r *Router) principal(ctx context.Context, peer Peer, fp, serial string) (devices.Principal, error) {
	if r.resolver == nil {
		return devices.Principal{Kind: devices.KindAdmin, Group: devices.DefaultGroup, AllGroups: true}, nil
	}
	if peer.Certificate == nil {
		return devices.Principal{}, errAuthNoCert
	}
	if r.resolver.IsRevoked(fp) {
		return devices.Principal{}, errAuthRevoked
	}
	now := time.Now()
	r.cache.mu.Lock()
	c, ok := r.cache.m[peer.ConnID]
	r.cache.mu.Unlock()
	if ok && c.fingerprint == fp && c.serial == serial && now.Before(c.until) {
		return c.p, nil
	}
	var p devices.Principal
	var err error
	if sr, isSR := r.resolver.(SerialResolver); isSR && serial != "" {
		p, err = sr.ResolveSerial(ctx, peer.Certificate, serial, peer.RemoteAddr)
	} else {
		p, err = r.resolver.Resolve(ctx, peer.Certificate, peer.RemoteAddr)
	}
	switch {
	case errors.Is(err, devices.ErrRevoked):
		return p, errAuthRevoked
	case errors.Is(err, devices.ErrPending):
		return p, errAuthPending
	case err != nil:
		r.log.Info("kmip: client refused", "conn", peer.ConnID, "remote", peer.RemoteAddr, "fingerprint", fp, "err", err)
		return p, errAuthRefused
	}
	r.cache.mu.Lock()
	if len(r.cache.m) > 4096 {
		clear(r.cache.m)
	}
	r.cache.m[peer.ConnID] = cachedPrincipal{fingerprint: fp, serial: serial, p: p, until: now.Add(principalTTL)}
	r.cache.mu.Unlock()
	return p, nil
}

// access is the scope of the core operations run for p.
func access(p devices.Principal) keys.Access {
	return keys.Access{Group: p.Group, AllGroups: p.AllGroups, ReadOnly: p.ReadOnly, Owner: p.Owner}
}

// readOnlyOps are what a read-only principal (operator, auditor) may run:
// metadata, never key material, never a change.
var readOnlyOps = map[kmip.Operation]bool{
	kmip.OperationDiscoverVersions: true, kmip.OperationQuery: true, kmip.OperationLocate: true,
	kmip.OperationGetAttributes: true, kmip.OperationGetAttributeList: true, kmip.OperationCheck: true,
	// Poll and Cancel reach only the results of the caller's own requests.
	kmip.OperationPoll: true, kmip.OperationCancel: true,
	kmip2.OperationPing: true, // KMIP 2.1: answers nothing
}

// permitted applies the principal's operation limits.
func permitted(p devices.Principal, op kmip.Operation) bool {
	if p.ReadOnly && !readOnlyOps[op] {
		return false
	}
	if len(p.AllowedOps) == 0 {
		return true
	}
	name := ttlv.EnumStr(op)
	for _, a := range p.AllowedOps {
		if strings.EqualFold(strings.ReplaceAll(a, " ", ""), name) {
			return true
		}
	}
	return false
}
