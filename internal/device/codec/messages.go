package codec

// Message is one device-protocol message: a request, its typed response or
// an Error. RequestID is carried in the frame header; a response carries the
// id of the request it answers.
type Message interface {
	// Type returns the message type byte.
	Type() Type
	// ID returns the request id of the frame.
	ID() RequestID
	fields() fieldSet
}

// WriteKeyRequest asks for a new data key for a 3592 volume. Labels and
// encodings left empty are chosen by the server (device, then group defaults).
type WriteKeyRequest struct {
	RequestID   RequestID
	DriveSerial string
	WWN         string
	Volser      string
	Label1      string   // optional
	Label2      string   // optional
	Encoding1   Encoding // optional
	Encoding2   Encoding // optional
}

// WriteKeyResponse carries the two EEDKs to write on the tape and the data
// key wrapped for the drive.
type WriteKeyResponse struct {
	RequestID RequestID
	EEDK1     EEDK
	EEDK2     EEDK
	Key       WrappedKey
}

// ReadKeyRequest sends the EEDKs read from a 3592 tape.
type ReadKeyRequest struct {
	RequestID   RequestID
	DriveSerial string
	WWN         string // optional
	Volser      string
	EEDK1       EEDK
	EEDK2       EEDK
}

// ReadKeyResponse carries the data key wrapped for the drive.
type ReadKeyResponse struct {
	RequestID RequestID
	Key       WrappedKey
}

// RekeyRequest asks to re-wrap a volume's data key under two new labels.
type RekeyRequest struct {
	RequestID   RequestID
	DriveSerial string
	Volser      string
	Label1      string   // new first label
	Label2      string   // new second label
	Encoding1   Encoding // optional
	Encoding2   Encoding // optional
	EEDK1       EEDK     // current EEDKs
	EEDK2       EEDK
}

// RekeyResponse carries the new EEDKs.
type RekeyResponse struct {
	RequestID RequestID
	EEDK1     EEDK
	EEDK2     EEDK
}

// LTOWriteRequest asks for a key for an LTO volume, from the drive's key
// group (round robin) or by alias.
type LTOWriteRequest struct {
	RequestID   RequestID
	DriveSerial string
	Volser      string
	KeyAlias    string // optional
}

// LTOWriteResponse carries the key identifier to write on the tape and the
// key wrapped for the drive.
type LTOWriteResponse struct {
	RequestID RequestID
	KeyID     string
	Key       WrappedKey
}

// LTOReadRequest sends the key identifier read from an LTO tape.
type LTOReadRequest struct {
	RequestID   RequestID
	DriveSerial string
	Volser      string // optional
	KeyID       string
}

// LTOReadResponse carries the key wrapped for the drive.
type LTOReadResponse struct {
	RequestID RequestID
	Key       WrappedKey
}

// DiskKeyCreateRequest asks for an array's first unlock key.
type DiskKeyCreateRequest struct {
	RequestID   RequestID
	ArraySerial string
}

// DiskKeyCreateResponse carries the EEDK pair the array keeps and the unlock
// key wrapped for the array.
type DiskKeyCreateResponse struct {
	RequestID RequestID
	EEDK1     EEDK
	EEDK2     EEDK
	Key       WrappedKey
}

// DiskUnlockRequest sends an array's EEDK (one, or both of the pair).
type DiskUnlockRequest struct {
	RequestID   RequestID
	ArraySerial string
	EEDK1       EEDK
	EEDK2       EEDK // optional
}

// DiskUnlockResponse carries the unlock key wrapped for the array.
type DiskUnlockResponse struct {
	RequestID RequestID
	Key       WrappedKey
}

// Error answers a failed request with a status code and a fixed message
// (never internal detail or key material).
type Error struct {
	RequestID RequestID
	Status    Status // never StatusOK
	Message   string
}

// Type implementations.

// Type returns TypeWriteKeyRequest.
func (WriteKeyRequest) Type() Type { return TypeWriteKeyRequest }

// Type returns TypeWriteKeyResponse.
func (WriteKeyResponse) Type() Type { return TypeWriteKeyResponse }

// Type returns TypeReadKeyRequest.
func (ReadKeyRequest) Type() Type { return TypeReadKeyRequest }

// Type returns TypeReadKeyResponse.
func (ReadKeyResponse) Type() Type { return TypeReadKeyResponse }

// Type returns TypeRekeyRequest.
func (RekeyRequest) Type() Type { return TypeRekeyRequest }

// Type returns TypeRekeyResponse.
func (RekeyResponse) Type() Type { return TypeRekeyResponse }

// Type returns TypeLTOWriteRequest.
func (LTOWriteRequest) Type() Type { return TypeLTOWriteRequest }

// Type returns TypeLTOWriteResponse.
func (LTOWriteResponse) Type() Type { return TypeLTOWriteResponse }

// Type returns TypeLTOReadRequest.
func (LTOReadRequest) Type() Type { return TypeLTOReadRequest }

// Type returns TypeLTOReadResponse.
func (LTOReadResponse) Type() Type { return TypeLTOReadResponse }

// Type returns TypeDiskKeyCreateRequest.
func (DiskKeyCreateRequest) Type() Type { return TypeDiskKeyCreateRequest }

// Type returns TypeDiskKeyCreateResponse.
func (DiskKeyCreateResponse) Type() Type { return TypeDiskKeyCreateResponse }

// Type returns TypeDiskUnlockRequest.
func (DiskUnlockRequest) Type() Type { return TypeDiskUnlockRequest }

// Type returns TypeDiskUnlockResponse.
func (DiskUnlockResponse) Type() Type { return TypeDiskUnlockResponse }

// Type returns TypeError.
func (Error) Type() Type { return TypeError }

// ID implementations.

// ID returns the request id.
func (m WriteKeyRequest) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m WriteKeyResponse) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m ReadKeyRequest) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m ReadKeyResponse) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m RekeyRequest) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m RekeyResponse) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m LTOWriteRequest) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m LTOWriteResponse) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m LTOReadRequest) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m LTOReadResponse) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m DiskKeyCreateRequest) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m DiskKeyCreateResponse) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m DiskUnlockRequest) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m DiskUnlockResponse) ID() RequestID { return m.RequestID }

// ID returns the request id.
func (m Error) ID() RequestID { return m.RequestID }
