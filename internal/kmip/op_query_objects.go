package kmip

import "github.com/ovh/kmip-go"

// objectSince is the KMIP 1.x minor version that introduced an object
// type Query Objects lists; absent means 1.0.
var objectSince = map[kmip.ObjectType]int32{
	kmip.ObjectTypePGPKey: 2, // KMIP 1.2 section 2.2.9
}

// objectTypesFor returns the object types Query Objects lists to a client
// of version v: those its version knows.
func objectTypesFor(v kmip.ProtocolVersion) []kmip.ObjectType {
	out := make([]kmip.ObjectType, 0, len(objectTypes))
	for _, t := range objectTypes {
		if v.ProtocolVersionMajor > 1 || objectSince[t] <= v.ProtocolVersionMinor {
			out = append(out, t)
		}
	}
	return out
}
