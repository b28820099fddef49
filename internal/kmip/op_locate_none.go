package kmip

import "github.com/ovh/kmip-go"

// A Locate that finds nothing leaves the ID placeholder naming no object:
// the next batch item that relies on the placeholder asks for an object
// that does not exist, so it fails with Item Not Found (vectors TC_152:
// Locate of a fresh group member once none is left, then Get), not Missing
// Data, which stays the answer when nothing ever set the placeholder.

var errLocatedNone = kerr(kmip.ResultReasonItemNotFound, "the previous Locate found no object")

// locatedNothing records the outcome of a Locate: found none empties the
// placeholder; found one clears the mark.
func (b *batch) locatedNothing(none bool) {
	b.locatedNone = none
	if none {
		b.placeholder = ""
	}
}
