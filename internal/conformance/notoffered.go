package conformance

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	kwkmip "github.com/keywarden/keywarden/internal/kmip"
)

// Entries of a Query answer that keywarden deliberately does not offer.
//
// A recording server's Query answer lists its own operations and object
// types; where it lists one that keywarden deliberately does not offer
// (kwkmip.NotOfferedOperations and kwkmip.NotOfferedObjectTypes, the one
// list, kept apart from what the server's Query answers by a test in
// internal/kmip), a truthful keywarden answer lacks it. Such a missing
// entry is recorded as a not-offered Mismatch: the file still fails, but
// its problem names the missing entries, and every other difference of the
// file is reported before it (see Result.FirstProblem).

// notOffered reports whether an expected item of a Query answer names an
// operation or object type keywarden deliberately does not offer.
func notOffered(n *Node) bool {
	if n.isVar() || n.Type != ttlv.TypeEnumeration {
		return false
	}
	v, ok := n.Value.(uint32)
	if !ok {
		return false
	}
	switch n.Tag {
	case kmip.TagOperation:
		return slices.Contains(kwkmip.NotOfferedOperations, kmip.Operation(v))
	case kmip.TagObjectType:
		return slices.Contains(kwkmip.NotOfferedObjectTypes, kmip.ObjectType(v))
	}
	return false
}

// addNotOffered records a missing Query entry that is not offered.
func (c *comparer) addNotOffered(path string, exp *Node) {
	c.mm = append(c.mm, Mismatch{
		Path: path, Expected: describe(exp, exp.Tag), Actual: describe(nil, exp.Tag),
		Note: "deliberately not offered", NotOffered: true,
	})
}

// firstOrdinary returns the first mismatch that is not a not-offered one.
func firstOrdinary(mm []Mismatch) (Mismatch, bool) {
	for _, m := range mm {
		if !m.NotOffered {
			return m, true
		}
	}
	return Mismatch{}, false
}

// notOfferedProblem names, exchange by exchange, the entries the vector
// expects that are deliberately not offered; "" if there are none.
func (r Result) notOfferedProblem() string {
	var parts []string
	for _, e := range r.Exchanges {
		var names []string
		for _, m := range e.Mismatches {
			if m.NotOffered {
				names = append(names, tagOf(m.Path)+" "+m.Expected)
			}
		}
		if len(names) > 0 {
			parts = append(parts, fmt.Sprintf("%s: the Query answer lacks entries deliberately not offered: %s",
				e.label(), strings.Join(names, ", ")))
		}
	}
	return strings.Join(parts, "; ")
}

// tagOf returns the tag name of the last segment of a path, without its
// index: "BatchItem/ResponsePayload/Operation[12]" gives "Operation".
func tagOf(path string) string {
	seg := path[strings.LastIndexByte(path, '/')+1:]
	if i := strings.IndexByte(seg, '['); i >= 0 {
		seg = seg[:i]
	}
	return seg
}
