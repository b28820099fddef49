package kmip

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/devices"
)

// CredentialResolver narrows the principal of a TLS client certificate to
// the identity a request header's Credential names (KMIP 1.x §6.1, 2.x
// §8.1): a KMIP user (Username and Password) or, over an administrative
// certificate, a registered device (Device). The device registry
// implements it. Credentials never replace TLS authentication: they are
// considered only once the certificate resolved.
type CredentialResolver interface {
	NarrowToUser(ctx context.Context, cert devices.Principal, name string, password []byte) (devices.Principal, error)
	NarrowToDevice(ctx context.Context, cert devices.Principal, serial string) (devices.Principal, error)
}

// errAuthCredential answers a request whose credential was refused.
var errAuthCredential = kerr(kmip.ResultReasonAuthenticationNotSuccessful, "credential not accepted")

// userCache keeps, per connection, the last verified Username and
// Password credential, so that a client sending the same credential on
// every request pays the Argon2id verification once per principalTTL.
// The password is held only as a keyed digest.
type userCache struct {
	mu   sync.Mutex
	key  []byte
	once sync.Once
	m    map[uint64]cachedUser
}

type cachedUser struct {
	fingerprint string
	digest      []byte
	p           devices.Principal
	until       time.Time
}

// digest is HMAC-SHA256, under a per-process random key, of the user name
// and password.
func (c *userCache) digest(name, password string) []byte {
	c.once.Do(func() {
		c.key = make([]byte, 32)
		_, _ = rand.Read(c.key) // never fails (crypto/rand)
		c.m = map[uint64]cachedUser{}
	})
	mac := hmac.New(sha256.New, c.key)
	mac.Write([]byte(name))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	return mac.Sum(nil)
}

// userCredential returns the first Username and Password credential of a
// request header; ok is false when it has none.
func userCredential(h kmip.RequestHeader) (cred kmip.CredentialValueUserPassword, ok bool) {
	if h.Authentication == nil {
		return cred, false
	}
	for _, c := range append([]kmip.Credential{h.Authentication.Credential}, h.Authentication.AdditionalCredential...) {
		if c.CredentialType == kmip.CredentialTypeUsernameAndPassword {
			if c.CredentialValue.UserPassword != nil {
				cred = *c.CredentialValue.UserPassword
			}
			return cred, true
		}
	}
	return cred, false
}

// narrow applies the request's credential to p, the principal of its
// certificate: a Username and Password credential makes the request that
// user's; otherwise a Device credential over an administrative
// certificate makes it that device's. Without a credential, or without a
// CredentialResolver, p stands. On a refusal the returned principal names
// the identity the credential claimed, for the audit trail; the password
// is never logged.
func (r *Router) narrow(ctx context.Context, peer Peer, h kmip.RequestHeader, p devices.Principal) (devices.Principal, error) {
	cr, ok := r.resolver.(CredentialResolver)
	if !ok {
		return p, nil
	}
	if cred, has := userCredential(h); has {
		return r.narrowToUser(ctx, cr, peer, p, cred)
	}
	serial := deviceSerial(h)
	if serial == "" || p.Kind == devices.KindDevice {
		return p, nil // a client certificate's Device credential was resolved by ResolveSerial
	}
	np, err := cr.NarrowToDevice(ctx, p, serial)
	if err != nil {
		return r.refuseCredential(peer, p, p.Name, err)
	}
	return np, nil
}

// narrowToUser verifies a Username and Password credential, reusing a
// recent verification on the same connection.
func (r *Router) narrowToUser(ctx context.Context, cr CredentialResolver, peer Peer, p devices.Principal,
	cred kmip.CredentialValueUserPassword) (devices.Principal, error) {
	d := r.users.digest(cred.Username, cred.Password)
	now := time.Now()
	r.users.mu.Lock()
	c, ok := r.users.m[peer.ConnID]
	r.users.mu.Unlock()
	if ok && c.fingerprint == p.Fingerprint && hmac.Equal(c.digest, d) && now.Before(c.until) {
		return c.p, nil
	}
	np, err := cr.NarrowToUser(ctx, p, cred.Username, []byte(cred.Password))
	if err != nil {
		return r.refuseCredential(peer, p, cred.Username, err)
	}
	r.users.mu.Lock()
	if len(r.users.m) > 4096 {
		clear(r.users.m)
	}
	r.users.m[peer.ConnID] = cachedUser{fingerprint: p.Fingerprint, digest: d, p: np, until: now.Add(principalTTL)}
	r.users.mu.Unlock()
	return np, nil
}

// refuseCredential logs a refused credential and returns the principal
// the audit event names: the certificate's, under the claimed name.
func (r *Router) refuseCredential(peer Peer, p devices.Principal, claimed string, err error) (devices.Principal, error) {
	if !errors.Is(err, devices.ErrBadCredential) {
		r.log.Error("kmip: credential check failed", "conn", peer.ConnID, "remote", peer.RemoteAddr, "err", err)
	} else {
		r.log.Info("kmip: credential refused", "conn", peer.ConnID, "remote", peer.RemoteAddr,
			"fingerprint", p.Fingerprint, "claimed", claimed, "err", err)
	}
	denied := devices.Principal{Kind: p.Kind, Name: claimed, Fingerprint: p.Fingerprint, Group: p.Group}
	return denied, errAuthCredential
}
