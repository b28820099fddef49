package keys

import "errors"

// Domain errors. Each front end maps them to its own wire codes (KMIP
// Result Reason, HTTP status, device status) in one table.
var (
	// ErrNotFound: no object with that id is visible to the caller.
	ErrNotFound = errors.New("keys: object not found")
	// ErrWrongState: the object's state does not allow the operation.
	ErrWrongState = errors.New("keys: operation not allowed in the object's state")
	// ErrPermissionDenied: the operation is not allowed on this object or attribute.
	ErrPermissionDenied = errors.New("keys: permission denied")
	// ErrInvalidField: a field or attribute value is invalid.
	ErrInvalidField = errors.New("keys: invalid field")
	// ErrMissingData: a required field or attribute is missing.
	ErrMissingData = errors.New("keys: missing data")
	// ErrNotSupported: the requested algorithm, format or feature is not supported.
	ErrNotSupported = errors.New("keys: not supported")
	// ErrAttributeNotFound: the named attribute (instance) does not exist.
	ErrAttributeNotFound = errors.New("keys: attribute not found")
	// ErrAttributeReadOnly: the attribute is set by the server only.
	ErrAttributeReadOnly = errors.New("keys: attribute is read-only")
	// ErrAttributeSingleValued: a second instance of a single-valued attribute.
	ErrAttributeSingleValued = errors.New("keys: attribute is single-valued")
	// ErrIndexOutOfBounds: an attribute index beyond the existing instances.
	ErrIndexOutOfBounds = errors.New("keys: attribute index out of bounds")
	// ErrObjectArchived: the object is archived; Recover it first.
	ErrObjectArchived = errors.New("keys: object is archived")
	// ErrUsageLimitExceeded: no usage allocation is left.
	ErrUsageLimitExceeded = errors.New("keys: usage limit exceeded")
	// ErrConflict: the object changed concurrently too many times.
	ErrConflict = errors.New("keys: concurrent update conflict")
	// ErrCorrupted: a stored record failed authentication or decoding; it is
	// never served.
	ErrCorrupted = errors.New("keys: stored record is corrupted")
)
