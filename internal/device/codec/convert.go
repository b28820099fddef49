package codec

// Per message type: the fields it may carry (required or optional), and the
// conversions between its struct and its field set.

// Field presence in a message type.
type presence int

const (
	optional presence = iota + 1
	required
)

// eedk1 and eedk2 list the three tags of each EEDK group.
var (
	eedk1Tags = [3]Tag{TagEEDK1Encoding, TagEEDK1KeyRef, TagEEDK1Data}
	eedk2Tags = [3]Tag{TagEEDK2Encoding, TagEEDK2KeyRef, TagEEDK2Data}
)

func withEEDK(m map[Tag]presence, tags [3]Tag, p presence) map[Tag]presence {
	for _, t := range tags {
		m[t] = p
	}
	return m
}

func withWrapped(m map[Tag]presence) map[Tag]presence {
	m[TagWrapAlgorithm] = required
	m[TagWrappedKey] = required
	return m
}

// specs lists, for every known message type, the fields it may carry.
var specs = map[Type]map[Tag]presence{
	TypeWriteKeyRequest: {TagDeviceSerial: required, TagWWN: required, TagVolser: required,
		TagLabel1: optional, TagLabel2: optional, TagEncoding1: optional, TagEncoding2: optional},
	TypeWriteKeyResponse: withWrapped(withEEDK(withEEDK(map[Tag]presence{}, eedk1Tags, required), eedk2Tags, required)),
	TypeReadKeyRequest: withEEDK(withEEDK(map[Tag]presence{TagDeviceSerial: required, TagWWN: optional,
		TagVolser: required}, eedk1Tags, required), eedk2Tags, required),
	TypeReadKeyResponse: withWrapped(map[Tag]presence{}),
	TypeRekeyRequest: withEEDK(withEEDK(map[Tag]presence{TagDeviceSerial: required, TagVolser: required,
		TagLabel1: required, TagLabel2: required, TagEncoding1: optional, TagEncoding2: optional},
		eedk1Tags, required), eedk2Tags, required),
	TypeRekeyResponse:         withEEDK(withEEDK(map[Tag]presence{}, eedk1Tags, required), eedk2Tags, required),
	TypeLTOWriteRequest:       {TagDeviceSerial: required, TagVolser: required, TagKeyAlias: optional},
	TypeLTOWriteResponse:      withWrapped(map[Tag]presence{TagKeyID: required}),
	TypeLTOReadRequest:        {TagDeviceSerial: required, TagVolser: optional, TagKeyID: required},
	TypeLTOReadResponse:       withWrapped(map[Tag]presence{}),
	TypeDiskKeyCreateRequest:  {TagDeviceSerial: required},
	TypeDiskKeyCreateResponse: withWrapped(withEEDK(withEEDK(map[Tag]presence{}, eedk1Tags, required), eedk2Tags, required)),
	TypeDiskUnlockRequest: withEEDK(withEEDK(map[Tag]presence{TagDeviceSerial: required},
		eedk1Tags, required), eedk2Tags, optional),
	TypeDiskUnlockResponse: withWrapped(map[Tag]presence{}),
	TypeError:              {TagStatus: required, TagMessage: required},
}

// checkSet validates a field set for message type t: every value valid,
// no field the type does not carry, every required field present, each EEDK
// complete or absent and its key reference matching its encoding.
func checkSet(t Type, s fieldSet) error {
	spec, ok := specs[t]
	if !ok {
		return malformed(0, "unknown message type %#02x", byte(t))
	}
	// Ascending tag order, so that the field named in an error is stable.
	for i := 0; i < 256; i++ {
		tag := Tag(i)
		v, present := s[tag]
		p, allowed := spec[tag]
		switch {
		case present && !allowed:
			return malformed(tag, "not a field of %s", t)
		case present:
			if err := checkValue(tag, v); err != nil {
				return err
			}
		case p == required:
			return malformed(tag, "required by %s", t)
		}
	}
	for _, g := range [][3]Tag{eedk1Tags, eedk2Tags} {
		if err := checkEEDK(s, g); err != nil {
			return err
		}
	}
	return nil
}

func checkEEDK(s fieldSet, g [3]Tag) error {
	n := 0
	for _, t := range g {
		if _, ok := s[t]; ok {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	for _, t := range g {
		if _, ok := s[t]; !ok {
			return malformed(t, "missing from a partial EEDK")
		}
	}
	ref := s[g[1]]
	switch Encoding(s.byte(g[0])) {
	case EncodingLabel:
		if !printable(ref) {
			return malformed(g[1], "label reference not printable ASCII")
		}
	case EncodingHash:
		if len(ref) != KeyHashLen {
			return malformed(g[1], "hash reference of %d bytes, want %d", len(ref), KeyHashLen)
		}
	}
	return nil
}

func putEEDK(s fieldSet, g [3]Tag, e EEDK) {
	s.putByte(g[0], byte(e.Encoding))
	s.putBytes(g[1], e.KeyRef)
	s.putBytes(g[2], e.Data)
}

func getEEDK(s fieldSet, g [3]Tag) EEDK {
	return EEDK{Encoding: Encoding(s.byte(g[0])), KeyRef: s.bytes(g[1]), Data: s.bytes(g[2])}
}

func putWrapped(s fieldSet, k WrappedKey) {
	s.putByte(TagWrapAlgorithm, byte(k.Algorithm))
	s.putBytes(TagWrappedKey, k.Ciphertext)
}

func getWrapped(s fieldSet) WrappedKey {
	return WrappedKey{Algorithm: WrapAlgorithm(s.byte(TagWrapAlgorithm)), Ciphertext: s.bytes(TagWrappedKey)}
}

func (m WriteKeyRequest) fields() fieldSet {
	s := fieldSet{}
	s.putText(TagDeviceSerial, m.DriveSerial)
	s.putText(TagWWN, m.WWN)
	s.putText(TagVolser, m.Volser)
	s.putText(TagLabel1, m.Label1)
	s.putText(TagLabel2, m.Label2)
	s.putByte(TagEncoding1, byte(m.Encoding1))
	s.putByte(TagEncoding2, byte(m.Encoding2))
	return s
}

func (m WriteKeyResponse) fields() fieldSet {
	s := fieldSet{}
	putEEDK(s, eedk1Tags, m.EEDK1)
	putEEDK(s, eedk2Tags, m.EEDK2)
	putWrapped(s, m.Key)
	return s
}

func (m ReadKeyRequest) fields() fieldSet {
	s := fieldSet{}
	s.putText(TagDeviceSerial, m.DriveSerial)
	s.putText(TagWWN, m.WWN)
	s.putText(TagVolser, m.Volser)
	putEEDK(s, eedk1Tags, m.EEDK1)
	putEEDK(s, eedk2Tags, m.EEDK2)
	return s
}

func (m ReadKeyResponse) fields() fieldSet { s := fieldSet{}; putWrapped(s, m.Key); return s }

func (m RekeyRequest) fields() fieldSet {
	s := fieldSet{}
	s.putText(TagDeviceSerial, m.DriveSerial)
	s.putText(TagVolser, m.Volser)
	s.putText(TagLabel1, m.Label1)
	s.putText(TagLabel2, m.Label2)
	s.putByte(TagEncoding1, byte(m.Encoding1))
	s.putByte(TagEncoding2, byte(m.Encoding2))
	putEEDK(s, eedk1Tags, m.EEDK1)
	putEEDK(s, eedk2Tags, m.EEDK2)
	return s
}

func (m RekeyResponse) fields() fieldSet {
	s := fieldSet{}
	putEEDK(s, eedk1Tags, m.EEDK1)
	putEEDK(s, eedk2Tags, m.EEDK2)
	return s
}

func (m LTOWriteRequest) fields() fieldSet {
	s := fieldSet{}
	s.putText(TagDeviceSerial, m.DriveSerial)
	s.putText(TagVolser, m.Volser)
	s.putText(TagKeyAlias, m.KeyAlias)
	return s
}

func (m LTOWriteResponse) fields() fieldSet {
	s := fieldSet{}
	s.putText(TagKeyID, m.KeyID)
	putWrapped(s, m.Key)
	return s
}

func (m LTOReadRequest) fields() fieldSet {
	s := fieldSet{}
	s.putText(TagDeviceSerial, m.DriveSerial)
	s.putText(TagVolser, m.Volser)
	s.putText(TagKeyID, m.KeyID)
	return s
}

func (m LTOReadResponse) fields() fieldSet { s := fieldSet{}; putWrapped(s, m.Key); return s }

func (m DiskKeyCreateRequest) fields() fieldSet {
	s := fieldSet{}
	s.putText(TagDeviceSerial, m.ArraySerial)
	return s
}

func (m DiskKeyCreateResponse) fields() fieldSet {
	s := fieldSet{}
	putEEDK(s, eedk1Tags, m.EEDK1)
	putEEDK(s, eedk2Tags, m.EEDK2)
	putWrapped(s, m.Key)
	return s
}

func (m DiskUnlockRequest) fields() fieldSet {
	s := fieldSet{}
	s.putText(TagDeviceSerial, m.ArraySerial)
	putEEDK(s, eedk1Tags, m.EEDK1)
	putEEDK(s, eedk2Tags, m.EEDK2)
	return s
}

func (m DiskUnlockResponse) fields() fieldSet { s := fieldSet{}; putWrapped(s, m.Key); return s }

func (m Error) fields() fieldSet {
	s := fieldSet{}
	s.putByte(TagStatus, byte(m.Status))
	s.putText(TagMessage, m.Message)
	return s
}

// build makes the typed message of type t from a checked field set.
func build(t Type, id RequestID, s fieldSet) Message {
	switch t {
	case TypeWriteKeyRequest:
		return WriteKeyRequest{RequestID: id, DriveSerial: s.text(TagDeviceSerial), WWN: s.text(TagWWN),
			Volser: s.text(TagVolser), Label1: s.text(TagLabel1), Label2: s.text(TagLabel2),
			Encoding1: Encoding(s.byte(TagEncoding1)), Encoding2: Encoding(s.byte(TagEncoding2))}
	case TypeWriteKeyResponse:
		return WriteKeyResponse{RequestID: id, EEDK1: getEEDK(s, eedk1Tags), EEDK2: getEEDK(s, eedk2Tags), Key: getWrapped(s)}
	case TypeReadKeyRequest:
		return ReadKeyRequest{RequestID: id, DriveSerial: s.text(TagDeviceSerial), WWN: s.text(TagWWN),
			Volser: s.text(TagVolser), EEDK1: getEEDK(s, eedk1Tags), EEDK2: getEEDK(s, eedk2Tags)}
	case TypeReadKeyResponse:
		return ReadKeyResponse{RequestID: id, Key: getWrapped(s)}
	case TypeRekeyRequest:
		return RekeyRequest{RequestID: id, DriveSerial: s.text(TagDeviceSerial), Volser: s.text(TagVolser),
			Label1: s.text(TagLabel1), Label2: s.text(TagLabel2),
			Encoding1: Encoding(s.byte(TagEncoding1)), Encoding2: Encoding(s.byte(TagEncoding2)),
			EEDK1: getEEDK(s, eedk1Tags), EEDK2: getEEDK(s, eedk2Tags)}
	case TypeRekeyResponse:
		return RekeyResponse{RequestID: id, EEDK1: getEEDK(s, eedk1Tags), EEDK2: getEEDK(s, eedk2Tags)}
	case TypeLTOWriteRequest:
		return LTOWriteRequest{RequestID: id, DriveSerial: s.text(TagDeviceSerial), Volser: s.text(TagVolser),
			KeyAlias: s.text(TagKeyAlias)}
	case TypeLTOWriteResponse:
		return LTOWriteResponse{RequestID: id, KeyID: s.text(TagKeyID), Key: getWrapped(s)}
	case TypeLTOReadRequest:
		return LTOReadRequest{RequestID: id, DriveSerial: s.text(TagDeviceSerial), Volser: s.text(TagVolser),
			KeyID: s.text(TagKeyID)}
	case TypeLTOReadResponse:
		return LTOReadResponse{RequestID: id, Key: getWrapped(s)}
	case TypeDiskKeyCreateRequest:
		return DiskKeyCreateRequest{RequestID: id, ArraySerial: s.text(TagDeviceSerial)}
	case TypeDiskKeyCreateResponse:
		return DiskKeyCreateResponse{RequestID: id, EEDK1: getEEDK(s, eedk1Tags), EEDK2: getEEDK(s, eedk2Tags), Key: getWrapped(s)}
	case TypeDiskUnlockRequest:
		return DiskUnlockRequest{RequestID: id, ArraySerial: s.text(TagDeviceSerial),
			EEDK1: getEEDK(s, eedk1Tags), EEDK2: getEEDK(s, eedk2Tags)}
	case TypeDiskUnlockResponse:
		return DiskUnlockResponse{RequestID: id, Key: getWrapped(s)}
	case TypeError:
		return Error{RequestID: id, Status: Status(s.byte(TagStatus)), Message: s.text(TagMessage)}
	}
	return nil
}
