package client

import (
	"encoding/json"
	"time"
)

// Group is a device group.
type Group struct {
	Name     string `json:"name"`
	Family   string `json:"family"`
	Alias1   string `json:"alias1,omitempty"`
	Alias2   string `json:"alias2,omitempty"`
	KeyGroup string `json:"key_group,omitempty"`
	// Unknown is the unknown-device policy: reject, accept or pending.
	Unknown    string    `json:"unknown"`
	AllowedOps []string  `json:"allowed_ops,omitempty"`
	Created    time.Time `json:"created"`
	// Rollovers are the scheduled changes of the defaults above not yet
	// in effect, in time order.
	Rollovers []Rollover `json:"rollovers,omitempty"`
}

// Rollover switches a group's default labels and/or its LTO key group at
// a set time; an empty field leaves that default as it is.
type Rollover struct {
	At       time.Time `json:"at"`
	Alias1   string    `json:"alias1,omitempty"`
	Alias2   string    `json:"alias2,omitempty"`
	KeyGroup string    `json:"key_group,omitempty"`
	// Scheduled is when it was asked for (set by the server).
	Scheduled time.Time `json:"scheduled,omitzero"`
}

// GroupSpec describes a new group. Family is 3592, LTO, DS8K or GENERIC;
// an empty Unknown takes the server's default policy.
type GroupSpec struct {
	Name       string   `json:"name"`
	Family     string   `json:"family"`
	Alias1     string   `json:"alias1,omitempty"`
	Alias2     string   `json:"alias2,omitempty"`
	KeyGroup   string   `json:"key_group,omitempty"`
	Unknown    string   `json:"unknown,omitempty"`
	AllowedOps []string `json:"allowed_ops,omitempty"`
}

// GroupChanges lists the fields of a group to change; nil fields stay.
type GroupChanges struct {
	Family     *string   `json:"family,omitempty"`
	Alias1     *string   `json:"alias1,omitempty"`
	Alias2     *string   `json:"alias2,omitempty"`
	KeyGroup   *string   `json:"key_group,omitempty"`
	Unknown    *string   `json:"unknown,omitempty"`
	AllowedOps *[]string `json:"allowed_ops,omitempty"`
}

// Device is one row of the device table.
type Device struct {
	ID          string `json:"id"`
	Family      string `json:"family"`
	Serial      string `json:"serial"`
	WWN         string `json:"wwn,omitempty"`
	Description string `json:"description,omitempty"`
	Group       string `json:"group"`
	Alias1      string `json:"alias1,omitempty"`
	Alias2      string `json:"alias2,omitempty"`
	KeyAlias    string `json:"key_alias,omitempty"`
	// State is active, pending or disabled.
	State        string    `json:"state"`
	FirstSeen    time.Time `json:"first_seen,omitzero"`
	LastSeen     time.Time `json:"last_seen,omitzero"`
	Fingerprints []string  `json:"fingerprints,omitempty"`
}

// DeviceSpec describes a new device. Certificate, a PEM client
// certificate, binds its fingerprint to the device, as each of
// Fingerprints does (SHA-256 of the certificate, hex).
type DeviceSpec struct {
	Family       string   `json:"family"`
	Serial       string   `json:"serial"`
	WWN          string   `json:"wwn,omitempty"`
	Description  string   `json:"description,omitempty"`
	Group        string   `json:"group,omitempty"`
	Alias1       string   `json:"alias1,omitempty"`
	Alias2       string   `json:"alias2,omitempty"`
	KeyAlias     string   `json:"key_alias,omitempty"`
	State        string   `json:"state,omitempty"`
	Fingerprints []string `json:"fingerprints,omitempty"`
	Certificate  string   `json:"certificate,omitempty"`
}

// DeviceChanges lists the fields of a device to change; nil fields stay.
// Fingerprints replaces the bound fingerprints; AddCertificate (PEM)
// binds one more.
type DeviceChanges struct {
	WWN            *string   `json:"wwn,omitempty"`
	Description    *string   `json:"description,omitempty"`
	Group          *string   `json:"group,omitempty"`
	Alias1         *string   `json:"alias1,omitempty"`
	Alias2         *string   `json:"alias2,omitempty"`
	KeyAlias       *string   `json:"key_alias,omitempty"`
	State          *string   `json:"state,omitempty"`
	Fingerprints   *[]string `json:"fingerprints,omitempty"`
	AddCertificate *string   `json:"add_certificate,omitempty"`
}

// DeviceFilter selects devices; empty fields match all.
type DeviceFilter struct {
	Group, Family, State, Serial string
}

// PendingCert is a client certificate seen but not yet accepted.
type PendingCert struct {
	Fingerprint string    `json:"fingerprint"`
	Subject     string    `json:"subject"`
	RemoteAddr  string    `json:"remote_addr,omitempty"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Serial      string    `json:"serial,omitempty"`
	NotAfter    time.Time `json:"not_after,omitzero"`
}

// Pending lists what waits for an administrator: devices to approve and
// client certificates to accept.
type Pending struct {
	Devices []Device      `json:"devices"`
	Certs   []PendingCert `json:"certs"`
}

// RevokedCert is a certificate refused on every listener.
type RevokedCert struct {
	Fingerprint string    `json:"fingerprint"`
	Subject     string    `json:"subject,omitempty"`
	Revoked     time.Time `json:"revoked"`
	Reason      string    `json:"reason,omitempty"`
}

// Revocation names the certificate to revoke: its Fingerprint or the
// Certificate itself (PEM), and an optional Reason.
type Revocation struct {
	Fingerprint string `json:"fingerprint,omitempty"`
	Certificate string `json:"certificate,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// IssuedCert is a new client certificate and its private key, both PEM.
// The key exists nowhere else.
type IssuedCert struct {
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	Fingerprint string    `json:"fingerprint"`
	NotAfter    time.Time `json:"not_after"`
	Certificate string    `json:"certificate"`
	PrivateKey  string    `json:"private_key"`
}

// Key is a managed object's metadata; the admin API never returns key
// material.
type Key struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Group     string    `json:"group"`
	State     string    `json:"state"`
	Archived  bool      `json:"archived,omitempty"`
	Names     []string  `json:"names,omitempty"`
	Algorithm string    `json:"algorithm,omitempty"`
	Length    int32     `json:"length,omitempty"`
	Created   time.Time `json:"created,omitzero"`
	// Attributes are every attribute of the object (Key only, not Keys).
	Attributes []KeyAttribute `json:"attributes,omitempty"`
}

// KeyAttribute is one attribute instance of a managed object; Value is
// its JSON form (enumerations by name, dates in RFC 3339).
type KeyAttribute struct {
	Name  string          `json:"name"`
	Index int32           `json:"index"`
	Value json.RawMessage `json:"value"`
}

// KeyFilter selects keys. Type is a KMIP object type (SymmetricKey,
// PrivateKey, ...), State a KMIP state (PreActive, Active, Destroyed, ...);
// without State, destroyed objects are left out. Limit 0 means the
// server's default page.
type KeyFilter struct {
	Group, Type, State string
	Limit, Offset      int
}

// Status is the server's state.
type Status struct {
	Version       string            `json:"version"`
	Started       time.Time         `json:"started"`
	UptimeSeconds int64             `json:"uptime_seconds"`
	Listeners     map[string]string `json:"listeners"`
	Counts        Counts            `json:"counts"`
	Certificates  []CertStatus      `json:"certificates"`
	// NearExpiry names the certificates within 30 days of their end.
	NearExpiry []string `json:"near_expiry"`
	// FIPS reports whether the server runs Go's FIPS 140-3 module.
	FIPS bool `json:"fips"`
	// MasterKey is the master key provider: file, passphrase or pkcs11.
	MasterKey string `json:"master_key,omitempty"`
}

// Counts are the sizes of the server's tables.
type Counts struct {
	Keys           int `json:"keys"`
	Devices        int `json:"devices"`
	Groups         int `json:"groups"`
	PendingDevices int `json:"pending_devices"`
	PendingCerts   int `json:"pending_certs"`
	RevokedCerts   int `json:"revoked_certs"`
}

// CertStatus describes one of the server's own certificates ("ca",
// "server").
type CertStatus struct {
	Name       string    `json:"name"`
	Subject    string    `json:"subject"`
	NotAfter   time.Time `json:"not_after"`
	DaysLeft   int       `json:"days_left"`
	NearExpiry bool      `json:"near_expiry"`
}
