package device

import (
	"errors"

	"github.com/keywarden/keywarden/internal/cluster"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/eedk"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/labels"
)

// Errors of the device front end that have no domain sentinel elsewhere.
var (
	// ErrWrongSerial: the serial in the request is not the serial of the
	// device the client certificate identifies.
	ErrWrongSerial = errors.New("device: serial does not match the certificate's device")
	// ErrWrongFamily: the device's family does not fit the request type.
	ErrWrongFamily = errors.New("device: device family does not fit the request")
	// ErrCertBoundElsewhere: a device found by serial is bound to other
	// certificates than the one presented.
	ErrCertBoundElsewhere = errors.New("device: device is bound to another certificate")
	// ErrNotDevice: a certificate that is neither bound to a device nor a
	// device certificate (an administrator's, operator's or auditor's).
	ErrNotDevice = errors.New("device: certificate is not a device certificate")
	// ErrKeyType: the client certificate's key cannot receive a wrapped key.
	ErrKeyType = errors.New("device: unsupported certificate key type")
	// ErrNoLabels: no label was given and none is configured for the
	// device or its group.
	ErrNoLabels = errors.New("device: no key label configured")
	// ErrNoOpen: no label could open either EEDK.
	ErrNoOpen = errors.New("device: no label able to open either EEDK")
	// ErrReplayMismatch: a request id reused with a different request.
	ErrReplayMismatch = errors.New("device: request id reused with a different request")
	// ErrUnsupported: a request type this server does not serve.
	ErrUnsupported = errors.New("device: operation not supported")
	// ErrBadRequest: a request that is well-formed but not a request type.
	ErrBadRequest = errors.New("device: bad request")
	// ErrNotBackedUp: the server serves only keys already in a backup
	// (server.Config.RequireBackup) and a label is newer than the last one.
	ErrNotBackedUp = errors.New("device: key label not yet in a backup")
	// ErrKeyNotBackedUp: the server serves only keys already in a backup
	// and no LTO key group key the write may use is in the last one.
	ErrKeyNotBackedUp = errors.New("device: LTO key not yet in a backup")
)

// statusEntry maps a domain error to a wire status and its fixed message.
type statusEntry struct {
	err     error
	status  codec.Status
	message string
}

// statusTable is the one mapping from errors to device-protocol statuses,
// checked in order with errors.Is. Messages are fixed texts: details go to
// the log, never to the device.
var statusTable = []statusEntry{
	{ErrAuditUnavailable, codec.StatusInternal, "audit trail unavailable"},
	{cluster.ErrUnavailable, codec.StatusInternal, "no quorum: retry on another server"},
	{ErrBadRequest, codec.StatusBadRequest, "bad request"},
	{ErrNotBackedUp, codec.StatusRefused, "key label not yet in a backup"},
	{ErrKeyNotBackedUp, codec.StatusRefused, "LTO key not yet in a backup"},
	{ErrReplayMismatch, codec.StatusBadRequest, "request id reused with a different request"},
	{codec.ErrMalformed, codec.StatusBadRequest, "malformed request"},
	{devices.ErrPending, codec.StatusPending, "device awaits approval"},
	{devices.ErrRejected, codec.StatusUnknownDevice, "unknown device"},
	{devices.ErrRevoked, codec.StatusRefused, "certificate revoked"},
	{devices.ErrDisabled, codec.StatusRefused, "device disabled"},
	{devices.ErrUnauthorized, codec.StatusRefused, "operation not allowed"},
	{ErrWrongSerial, codec.StatusRefused, "serial does not match the certificate"},
	{ErrWrongFamily, codec.StatusRefused, "operation not allowed for this device family"},
	{ErrCertBoundElsewhere, codec.StatusRefused, "device is bound to another certificate"},
	{ErrNotDevice, codec.StatusRefused, "certificate is not a device certificate"},
	{ErrKeyType, codec.StatusRefused, "certificate key type not supported"},
	{ErrUnsupported, codec.StatusRefused, "operation not supported"},
	{ErrNoLabels, codec.StatusNotFound, "no key label configured"},
	{ErrNoOpen, codec.StatusNotFound, "no label able to open either EEDK"},
	{labels.ErrNotFound, codec.StatusNotFound, "key label not found"},
	{labels.ErrInvalid, codec.StatusNotFound, "key label not found"},
	{labels.ErrNoPrivateKey, codec.StatusWrongState, "key label has no private key"},
	{eedk.ErrInvalid, codec.StatusBadRequest, "invalid key parameter"},
	{ErrNoKeyGroup, codec.StatusNotFound, "no key group configured"},
	{keygroups.ErrNotFound, codec.StatusNotFound, "LTO key not found"},
	{keygroups.ErrInvalid, codec.StatusNotFound, "LTO key not found"},
	{keygroups.ErrUnavailable, codec.StatusWrongState, "LTO key destroyed or not active"},
}

// statusOf returns the wire status and fixed message for err; anything
// not in the table is Internal.
func statusOf(err error) (codec.Status, string) {
	for _, e := range statusTable {
		if errors.Is(err, e.err) {
			return e.status, e.message
		}
	}
	return codec.StatusInternal, "internal error"
}
