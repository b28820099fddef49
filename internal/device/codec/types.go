package codec

import "fmt"

// Type is the message type byte of the header. Requests have the high bit
// clear; the successful response to request type t is t|0x80; Error (0xFF)
// answers any request that failed.
type Type byte

// Message types.
const (
	TypeWriteKeyRequest       Type = 0x01
	TypeReadKeyRequest        Type = 0x02
	TypeRekeyRequest          Type = 0x03
	TypeLTOWriteRequest       Type = 0x04
	TypeLTOReadRequest        Type = 0x05
	TypeDiskKeyCreateRequest  Type = 0x06
	TypeDiskUnlockRequest     Type = 0x07
	TypeWriteKeyResponse      Type = 0x81
	TypeReadKeyResponse       Type = 0x82
	TypeRekeyResponse         Type = 0x83
	TypeLTOWriteResponse      Type = 0x84
	TypeLTOReadResponse       Type = 0x85
	TypeDiskKeyCreateResponse Type = 0x86
	TypeDiskUnlockResponse    Type = 0x87
	TypeError                 Type = 0xFF
)

var typeNames = map[Type]string{
	TypeWriteKeyRequest: "WriteKeyRequest", TypeReadKeyRequest: "ReadKeyRequest",
	TypeRekeyRequest: "RekeyRequest", TypeLTOWriteRequest: "LTOWriteRequest",
	TypeLTOReadRequest: "LTOReadRequest", TypeDiskKeyCreateRequest: "DiskKeyCreateRequest",
	TypeDiskUnlockRequest: "DiskUnlockRequest", TypeWriteKeyResponse: "WriteKeyResponse",
	TypeReadKeyResponse: "ReadKeyResponse", TypeRekeyResponse: "RekeyResponse",
	TypeLTOWriteResponse: "LTOWriteResponse", TypeLTOReadResponse: "LTOReadResponse",
	TypeDiskKeyCreateResponse: "DiskKeyCreateResponse", TypeDiskUnlockResponse: "DiskUnlockResponse",
	TypeError: "Error",
}

// String returns the message type's name.
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("Type(%#02x)", byte(t))
}

// IsRequest reports whether t is a known request type.
func (t Type) IsRequest() bool { _, ok := typeNames[t]; return ok && t&0x80 == 0 }

// Status is the outcome code carried by an Error message. StatusOK is never
// sent: success is the typed response itself.
type Status byte

// Status codes (see docs/device-protocol.md for when each is used).
const (
	StatusOK            Status = 0 // success; implied by every non-Error response, never on the wire
	StatusBadRequest    Status = 1 // the frame or a field is malformed, or the type is not a request
	StatusUnknownDevice Status = 2 // the device is not in the device table and the policy refuses it
	StatusPending       Status = 3 // the device awaits approval; retry later with a new request id
	StatusRefused       Status = 4 // the device is known but not allowed this operation or key
	StatusNotFound      Status = 5 // a key label, key hash, key alias or key identifier is unknown
	StatusWrongState    Status = 6 // the key exists but its state forbids the use (deactivated, destroyed, public only)
	StatusInternal      Status = 7 // a server fault; the same request id may be retried, also on another server
)

var statusNames = map[Status]string{
	StatusOK: "OK", StatusBadRequest: "BadRequest", StatusUnknownDevice: "UnknownDevice",
	StatusPending: "Pending", StatusRefused: "Refused", StatusNotFound: "NotFound",
	StatusWrongState: "WrongState", StatusInternal: "Internal",
}

// String returns the status code's name.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("Status(%d)", byte(s))
}

// Encoding says how an EEDK names the key pair that wrapped it.
type Encoding byte

// EEDK key-reference encodings. The zero value means "not given" in a
// request (the server then picks the device's or its group's default).
const (
	EncodingLabel Encoding = 'L' // the key reference is the key label (printable ASCII)
	EncodingHash  Encoding = 'H' // the key reference is SHA-256 of the public key's DER SubjectPublicKeyInfo
)

// WrapAlgorithm says how a key is wrapped for the device that asked for it.
type WrapAlgorithm byte

// Wrapping algorithms; the server picks the one matching the public key of
// the device's client certificate. Both bind the wrapped key to its frame
// with WrapContext (the OAEP label, or the HPKE info).
const (
	// WrapRSAOAEPSHA256 is RSA-OAEP with SHA-256 (hash and MGF1) under the
	// RSA public key of the device's client certificate (RFC 8017).
	WrapRSAOAEPSHA256 WrapAlgorithm = 1
	// WrapECDHP256 is HPKE base mode (RFC 9180) with DHKEM(P-256,
	// HKDF-SHA256), HKDF-SHA256 and AES-256-GCM, single shot, to the P-256
	// public key of the device's client certificate; the ciphertext is the
	// encapsulated key (65 bytes) followed by the sealed key and its tag.
	WrapECDHP256 WrapAlgorithm = 2
)

// wrapContextPrefix starts every WrapContext.
const wrapContextPrefix = "KWDP v1 wrapped key"

// WrapContext returns the context a key wrapped for a device is bound to:
// "KWDP v1 wrapped key", the response type byte and the 16-byte request id.
// It is the OAEP label (WrapRSAOAEPSHA256) or the HPKE info (WrapECDHP256),
// so a wrapped key cannot be replayed into another response or request.
func WrapContext(t Type, id RequestID) []byte {
	b := make([]byte, 0, len(wrapContextPrefix)+1+len(id))
	b = append(b, wrapContextPrefix...)
	b = append(b, byte(t))
	return append(b, id[:]...)
}

// String returns the algorithm's name.
func (a WrapAlgorithm) String() string {
	switch a {
	case WrapRSAOAEPSHA256:
		return "RSA-OAEP-SHA256"
	case WrapECDHP256:
		return "HPKE-P256-HKDF-SHA256-AES256GCM"
	}
	return fmt.Sprintf("WrapAlgorithm(%d)", byte(a))
}

// EEDK is an externally encrypted data key: the data key wrapped under the
// public key of one key label, with the reference that names that key.
type EEDK struct {
	Encoding Encoding // EncodingLabel or EncodingHash
	KeyRef   []byte   // the label (L, 1..64 printable bytes) or the SHA-256 hash (H, 32 bytes)
	Data     []byte   // the wrapped data key, 1..1024 bytes
}

// IsZero reports whether e is absent (all of its parts empty).
func (e EEDK) IsZero() bool { return e.Encoding == 0 && len(e.KeyRef) == 0 && len(e.Data) == 0 }

// WrappedKey is a key wrapped for the device that asked for it.
type WrappedKey struct {
	Algorithm  WrapAlgorithm
	Ciphertext []byte // 1..1024 bytes
}
