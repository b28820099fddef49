// Package audit is keywarden's audit trail: typed events emitted by every
// front end (KMIP, device protocol, admin API) and by the server itself,
// written to sinks (a rotating JSON-lines file chained with HMACs, syslog),
// verified and searched.
//
// An Event has no field that can hold key material: object identifiers,
// labels, aliases and volsers are names, never values.
package audit

import (
	"context"
	"errors"
	"time"
)

// Protocol names the front end that emitted an event.
type Protocol string

// Protocols.
const (
	ProtoKMIP   Protocol = "kmip"
	ProtoDevice Protocol = "device"
	ProtoAdmin  Protocol = "admin"
	ProtoServer Protocol = "server" // start, stop, configuration, background work
)

// Outcome is how a request ended.
type Outcome string

// Outcomes.
const (
	Success Outcome = "success"
	Failure Outcome = "failure" // the request was valid but could not be done (or was malformed)
	Denied  Outcome = "denied"  // the principal may not do it (policy, group, revocation, authentication)
	Undone  Outcome = "undone"  // the request succeeded, then was reversed (a KMIP Undo batch whose later item failed)
)

// Type classifies an event, for the Audit.event.types filter.
type Type string

// Event types.
const (
	TypeKey       Type = "key"       // a key served, created, wrapped, unwrapped or refused
	TypeLifecycle Type = "lifecycle" // object state changes: activate, revoke, destroy
	TypeAuth      Type = "auth"      // authentication failures (TLS handshake, unknown or revoked certificates)
	TypeDevice    Type = "device"    // device table, groups, pending approvals and rejections
	TypeConfig    Type = "config"    // configuration and policy changes
	TypeServer    Type = "server"    // start, stop, reload
	TypeQuery     Type = "query"     // reads that serve no key material (list, locate, status, search)
)

// Client identifies who made a request.
type Client struct {
	// Fingerprint is the SHA-256 fingerprint of the client certificate
	// (pki.Fingerprint), empty when no certificate was presented.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Name is the principal's name (certificate subject or device id).
	Name string `json:"name,omitempty"`
	// Role is the principal kind: admin, operator, auditor, device.
	Role string `json:"role,omitempty"`
	// DeviceID and Serial identify a registered device.
	DeviceID string `json:"device_id,omitempty"`
	Serial   string `json:"serial,omitempty"`
	// WWN is a drive's world-wide name when it sent one.
	WWN string `json:"wwn,omitempty"`
}

// Event is one audit record before it is sealed into the trail.
type Event struct {
	Time      time.Time     `json:"time"`
	Node      string        `json:"node,omitempty"`
	Type      Type          `json:"type"`
	Protocol  Protocol      `json:"protocol"`
	Operation string        `json:"operation"` // by name: "Get", "write-key", "POST /v1/labels"
	Client    Client        `json:"client"`
	Remote    string        `json:"remote,omitempty"`
	Objects   []string      `json:"objects,omitempty"` // object unique identifiers
	Labels    []string      `json:"labels,omitempty"`  // key labels / aliases / key group names
	Volser    string        `json:"volser,omitempty"`
	Outcome   Outcome       `json:"outcome"`
	Reason    string        `json:"reason,omitempty"` // a fixed message or result reason, never input echoed back
	Latency   time.Duration `json:"latency_ns,omitempty"`
}

// Recorder receives events. Record returns only when the event is as
// durable as the trail's configuration asks (Audit.eventQueue.max = 0:
// written to the file); an error means the event was not recorded, and a
// fail-closed front end then refuses the request.
type Recorder interface {
	Record(ctx context.Context, e Event) error
}

// ErrUnavailable is returned (wrapped) by Record and Ready when the trail
// cannot accept records: the sink is failing and fail-closed is on.
var ErrUnavailable = errors.New("audit: trail unavailable")

// Discard is a Recorder that drops every event (audit disabled).
var Discard Recorder = discard{}

type discard struct{}

func (discard) Record(context.Context, Event) error { return nil }
