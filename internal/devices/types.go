// Package devices keeps the device table, device groups, the pending lists
// (unknown devices and unknown client certificates) and revoked
// certificates, and resolves the identity of a connecting client: which
// device or administrator it is, which group it may reach, and whether it
// is served, parked or refused.
//
// Records are sealed by the barrier and written through store commands,
// like every other record.
package devices

import (
	"errors"
	"time"
)

// Family is a kind of device.
type Family string

// Device families. GENERIC is any KMIP client.
const (
	Family3592    Family = "3592"
	FamilyLTO     Family = "LTO"
	FamilyDS8K    Family = "DS8K"
	FamilyGeneric Family = "GENERIC"
)

// State is a device's state.
type State string

// Device states.
const (
	StateActive   State = "active"
	StatePending  State = "pending"
	StateDisabled State = "disabled"
)

// Policy says what happens to an unknown device or certificate (SKLM's
// device.AutoPendingAutoDiscovery: 0 reject, 1 accept, 2 pending).
type Policy string

// Unknown-device policies.
const (
	PolicyReject  Policy = "reject"
	PolicyAccept  Policy = "accept"
	PolicyPending Policy = "pending"
)

// DefaultGroup is the group of administrators' objects and of accepted
// unknown GENERIC clients.
const DefaultGroup = "default"

// Device is one row of the device table.
type Device struct {
	ID           string    `json:"id"`
	Family       Family    `json:"family"`
	Serial       string    `json:"serial"`
	WWN          string    `json:"wwn,omitempty"`
	Description  string    `json:"description,omitempty"`
	Group        string    `json:"group"`
	Alias1       string    `json:"alias1,omitempty"`
	Alias2       string    `json:"alias2,omitempty"`
	KeyAlias     string    `json:"key_alias,omitempty"`
	State        State     `json:"state"`
	FirstSeen    time.Time `json:"first_seen,omitzero"`
	LastSeen     time.Time `json:"last_seen,omitzero"`
	Fingerprints []string  `json:"fingerprints,omitempty"`
}

// Group is a device group.
type Group struct {
	Name     string `json:"name"`
	Family   Family `json:"family"`
	Alias1   string `json:"alias1,omitempty"`
	Alias2   string `json:"alias2,omitempty"`
	KeyGroup string `json:"key_group,omitempty"`
	Unknown  Policy `json:"unknown"`
	// AllowedOps limits the KMIP operations of the group's devices (names
	// as in the KMIP specification, e.g. "Get", "Locate"); empty: all.
	AllowedOps []string  `json:"allowed_ops,omitempty"`
	Created    time.Time `json:"created"`
	// Rollovers are the scheduled changes of the defaults above that have
	// not yet taken effect, in time order (see Rollover).
	Rollovers []Rollover `json:"rollovers,omitempty"`
}

// PendingCert is a client certificate seen but not yet accepted.
type PendingCert struct {
	Fingerprint string    `json:"fingerprint"`
	Subject     string    `json:"subject"`
	RemoteAddr  string    `json:"remote_addr,omitempty"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	// Serial is the certificate's serial number in hex; an accepted
	// certificate's device gets it as its serial.
	Serial string `json:"serial,omitempty"`
	// NotAfter is the end of the certificate's validity.
	NotAfter time.Time `json:"not_after,omitzero"`
}

// RevokedCert is a certificate refused on every listener.
type RevokedCert struct {
	Fingerprint string    `json:"fingerprint"`
	Subject     string    `json:"subject,omitempty"`
	Revoked     time.Time `json:"revoked"`
	Reason      string    `json:"reason,omitempty"`
}

// Errors. Front ends map them to their wire codes.
var (
	ErrNotFound     = errors.New("devices: not found")
	ErrExists       = errors.New("devices: already exists")
	ErrInvalid      = errors.New("devices: invalid value")
	ErrGroupInUse   = errors.New("devices: group still has devices")
	ErrRevoked      = errors.New("devices: certificate revoked")
	ErrPending      = errors.New("devices: waiting for approval")
	ErrRejected     = errors.New("devices: unknown device or certificate refused")
	ErrDisabled     = errors.New("devices: device disabled")
	ErrUnauthorized = errors.New("devices: role does not allow this")
)

// PrincipalKind says what a resolved client is.
type PrincipalKind string

// Principal kinds.
const (
	KindAdmin    PrincipalKind = "admin"
	KindOperator PrincipalKind = "operator"
	KindAuditor  PrincipalKind = "auditor"
	KindDevice   PrincipalKind = "device"
)

// Principal is the resolved identity behind a client certificate and
// what it may reach.
type Principal struct {
	Kind        PrincipalKind
	Name        string
	Fingerprint string
	// Group receives the principal's new objects.
	Group string
	// AllGroups: administrators (all), operators and auditors (read-only).
	AllGroups bool
	// ReadOnly: operators and auditors get no key material and change nothing.
	ReadOnly bool
	// AllowedOps limits KMIP operations (the device group's list); empty: all.
	AllowedOps []string
	DeviceID   string
	// Owner is set when a request credential narrowed the certificate's
	// identity (narrow.go): the principal owns the objects it creates.
	Owner string
}
