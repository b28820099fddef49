package conformance

import (
	"github.com/ovh/kmip-go"
)

// opensStream reports whether exp is the Correlation Value a server returns
// to the first part (Init Indicator true) of a multi-part operation. Each
// such answer names a new stream, so its variable binds afresh: the vectors
// name every stream of a file alike (TC-STREAM-ENC-1-14 opens three
// streams, all $CORRELATION_VALUE), while a server must give each its own
// value. The later parts' answers must still carry the bound value.
func opensStream(exp *Node, sc scope) bool {
	if exp.Tag != kmip.TagCorrelationValue {
		return false
	}
	init := sc.reqPayload.Child(kmip.TagInitIndicator)
	if init == nil {
		return false
	}
	v, _ := init.Value.(bool)
	return v
}
