package keys

import (
	"encoding/binary"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Index kinds: the first byte of an index key. An index key is
// kind | blind(value) (16 bytes) | object id, with an empty value; the blind
// value is an HMAC under the barrier's index key, so attribute values never
// appear in clear on disk.
const (
	idxName byte = iota + 1
	idxASI
	idxAltName
	idxObjectGroup
	idxCustom
	idxObjectType
	idxLink
)

// indexable lists the Locate attributes that have an index, most selective
// first.
var indexable = []kmip.AttributeName{
	kmip.AttributeNameName,
	kmip.AttributeNameApplicationSpecificInformation,
	kmip.AttributeNameAlternativeName,
	kmip.AttributeNameLink,
	kmip.AttributeNameObjectGroup,
}

// indexPrefix returns the index prefix for one attribute instance, or nil
// when the attribute is not indexed. a must be in canonical form
// (canonicalAttr): the same value in another Go form has another prefix.
func (m *Manager) indexPrefix(a kmip.Attribute) []byte {
	var kind byte
	var parts [][]byte
	switch v := a.AttributeValue.(type) {
	case kmip.Name:
		kind, parts = idxName, [][]byte{[]byte(v.NameValue)}
	case kmip.ApplicationSpecificInformation:
		kind, parts = idxASI, [][]byte{[]byte(v.ApplicationNamespace), []byte(v.ApplicationData)}
	case kmip.AlternativeName:
		kind, parts = idxAltName, [][]byte{[]byte(v.AlternativeNameValue)}
	case kmip.Link:
		kind, parts = idxLink, [][]byte{binary.BigEndian.AppendUint32(nil, uint32(v.LinkType)), []byte(v.LinkedObjectIdentifier)}
	case kmip.ObjectType:
		kind, parts = idxObjectType, [][]byte{binary.BigEndian.AppendUint32(nil, uint32(v))}
	case string:
		if a.AttributeName != kmip.AttributeNameObjectGroup {
			return nil
		}
		kind, parts = idxObjectGroup, [][]byte{[]byte(v)}
	case ttlv.Value:
		// A custom attribute's canonical form (canonical.go): the value
		// as the codec decodes it, tagged Attribute Value.
		if !a.AttributeName.IsCustom() {
			return nil
		}
		kind, parts = idxCustom, [][]byte{[]byte(a.AttributeName), ttlv.MarshalTTLV(&v)}
	default:
		return nil
	}
	blind := m.seal.IndexKey(append([][]byte{{kind}}, parts...)...)
	return append([]byte{kind}, blind...)
}

// indexKeys returns every index key of o.
func (m *Manager) indexKeys(o *Object) map[string]bool {
	keys := map[string]bool{}
	add := func(a kmip.Attribute) {
		if p := m.indexPrefix(a); p != nil {
			keys[string(append(p, o.ID...))] = true
		}
	}
	add(kmip.Attribute{AttributeName: kmip.AttributeNameObjectType, AttributeValue: o.Type})
	for _, a := range o.Attrs {
		add(a)
	}
	return keys
}
