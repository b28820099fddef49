package kmip

import (
	"errors"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/cluster"
	"github.com/keywarden/keywarden/internal/keys"
)

// Error is a KMIP failure: the Result Reason and the fixed message the
// client sees. The internal cause goes to the log only.
type Error struct {
	Reason  kmip.ResultReason
	Message string
}

func (e *Error) Error() string { return e.Message }

func kerr(reason kmip.ResultReason, msg string) *Error { return &Error{Reason: reason, Message: msg} }

// Front-end errors.
var (
	errInvalidMessage     = kerr(kmip.ResultReasonInvalidMessage, "invalid message")
	errUnknownFields      = kerr(kmip.ResultReasonInvalidMessage, "request holds fields this server cannot interpret")
	errOperationNotSupp   = kerr(kmip.ResultReasonOperationNotSupported, "operation not supported")
	errFeatureNotSupp     = kerr(kmip.ResultReasonFeatureNotSupported, "feature not supported")
	errMissingID          = kerr(kmip.ResultReasonMissingData, "unique identifier missing and no ID placeholder set")
	errFormatNotSupported = kerr(kmip.ResultReasonKeyFormatTypeNotSupported, "key format type not supported for this object")
	errCompression        = kerr(kmip.ResultReasonKeyCompressionTypeNotSupported, "key compression type not supported")
	errWrapping           = kerr(kmip.ResultReasonFeatureNotSupported, "key wrapping is not supported yet")
	errGeneral            = kerr(kmip.ResultReasonGeneralFailure, "the server could not complete the operation")
)

// domainErrors maps the core's sentinels to KMIP results: the one table a
// reviewer reads to know what a client sees.
var domainErrors = []struct {
	err error
	out *Error
}{
	{keys.ErrNotFound, kerr(kmip.ResultReasonItemNotFound, "object not found")},
	{keys.ErrWrongState, kerr(kmip.ResultReasonPermissionDenied, "operation not allowed in the object's state")},
	{keys.ErrPermissionDenied, kerr(kmip.ResultReasonPermissionDenied, "permission denied")},
	{keys.ErrAttributeReadOnly, kerr(kmip.ResultReasonPermissionDenied, "attribute cannot be set by a client")},
	{keys.ErrUsageLimitExceeded, kerr(kmip.ResultReasonPermissionDenied, "usage limit exceeded")},
	{keys.ErrInvalidField, kerr(kmip.ResultReasonInvalidField, "invalid field")},
	{keys.ErrAttributeSingleValued, kerr(kmip.ResultReasonIllegalOperation, "attribute is single-valued")},
	{keys.ErrMissingData, kerr(kmip.ResultReasonMissingData, "required data missing")},
	{keys.ErrNotSupported, kerr(kmip.ResultReasonFeatureNotSupported, "algorithm or feature not supported")},
	{keys.ErrAttributeNotFound, kerr(kmip.ResultReasonItemNotFound, "attribute not found")},
	{keys.ErrIndexOutOfBounds, kerr(kmip.ResultReasonIndexOutofBounds, "attribute index out of bounds")},
	{keys.ErrObjectArchived, kerr(kmip.ResultReasonObjectArchived, "object is archived")},
	{keys.ErrConflict, kerr(kmip.ResultReasonGeneralFailure, "object changed concurrently; retry")},
	{keys.ErrCorrupted, kerr(kmip.ResultReasonGeneralFailure, "stored object failed its integrity check")},
	{cluster.ErrUnavailable, kerr(kmip.ResultReasonGeneralFailure, "no quorum: this cluster node cannot record the request; retry on another server")},
}

// toKMIP maps any error to the KMIP result a client receives.
func toKMIP(err error) *Error {
	var ke *Error
	if errors.As(err, &ke) {
		return ke
	}
	for _, d := range domainErrors {
		if errors.Is(err, d.err) {
			return d.out
		}
	}
	return errGeneral
}
