package kmip2

import (
	"fmt"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// KMIP 2.x lets the items of one batch pass data to each other inside the
// server: a batch item marked Ephemeral does not return its Data output to
// the client, and a later item may give, instead of its Data byte string,
// the Data enumeration naming the operation whose output it takes. The
// 2.1 test cases re-encrypt that way (TC-REENCRYPT-*-21: an Ephemeral
// Decrypt under one key, then an Encrypt under another whose Data is
// "Decrypt"): no Re-Encrypt operation exists, up to KMIP 3.0. The
// translation removes both fields, which ovh's 1.4 codec does not know,
// and records them; the server keeps the outputs for the batch only.

// TagEphemeral is the batch item's Ephemeral flag.
const TagEphemeral = 0x420154

// Data enumeration values: the operation whose Data output an item takes.
const (
	DataDecrypt = 1
	DataEncrypt = 2
)

// dataSources are the Data enumeration values the server can chain: the
// outputs of Decrypt and Encrypt.
var dataSources = map[ttlv.Enum]kmip.Operation{
	DataDecrypt: kmip.OperationDecrypt,
	DataEncrypt: kmip.OperationEncrypt,
}

// dataTargets are the operations that may take an earlier item's output
// as their Data.
var dataTargets = map[kmip.Operation]bool{kmip.OperationEncrypt: true, kmip.OperationDecrypt: true}

// ephemeral removes the Ephemeral flag of a batch item and reports it; a
// flag that is not a Boolean fails the item (and is removed all the same).
func ephemeral(item ttlv.Struct) (ttlv.Struct, bool, error) {
	e := child(item, TagEphemeral)
	if e == nil {
		return item, false, nil
	}
	on, ok := e.Value.(bool)
	if !ok {
		return drop(item, TagEphemeral), false, fmt.Errorf("%w: ephemeral is not a boolean", ErrMalformed)
	}
	return drop(item, TagEphemeral), on, nil
}

// dataReference removes a Data enumeration from a request payload and
// records the operation whose output the item takes.
func dataReference(p ttlv.Struct, st *itemState) (ttlv.Struct, error) {
	d := child(p, kmip.TagData)
	if d == nil {
		return p, nil
	}
	e, isRef := d.Value.(ttlv.Enum)
	if !isRef {
		return p, nil
	}
	from, ok := dataSources[e]
	if !ok || !dataTargets[st.op] {
		return nil, fmt.Errorf("%w: data taken from another operation's output", ErrNotSupported)
	}
	st.dataFrom = from
	return drop(p, kmip.TagData), nil
}

// DataFrom returns the operation whose output, earlier in the batch, the
// i-th batch item takes as its Data, or 0.
func (t *Translation) DataFrom(i int) kmip.Operation {
	if t == nil || i < 0 || i >= len(t.items) {
		return 0
	}
	return t.items[i].dataFrom
}

// Ephemeral reports whether the i-th batch item's Data output stays in
// the server.
func (t *Translation) Ephemeral(i int) bool {
	return t != nil && i >= 0 && i < len(t.items) && t.items[i].ephemeral
}

// Referenced reports whether an item after the i-th takes the output of
// operation op: the server then keeps the i-th item's output.
func (t *Translation) Referenced(i int, op kmip.Operation) bool {
	if t == nil {
		return false
	}
	for j := i + 1; j < len(t.items); j++ {
		if t.items[j].dataFrom == op {
			return true
		}
	}
	return false
}
