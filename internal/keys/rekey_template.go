package keys

import (
	"time"

	"github.com/ovh/kmip-go"
)

// replacementAttrs are the attributes a replacement object starts with,
// for Re-key, Re-key Key Pair and Re-certify alike: the replaced object's
// inherited attributes and names (of its links only those carriedLink
// keeps), the request's template applied by withTemplate, and the
// lifecycle dates shifted by shiftDates.
func replacementAttrs(old *Object, attrs []kmip.Attribute, now time.Time, offset *time.Duration) []kmip.Attribute {
	carry := withTemplate(carriedAttrs(old), attrs)
	for n, t := range shiftDates(old, now, offset) {
		carry = removeNamed(carry, n)
		carry = append(carry, kmip.Attribute{AttributeName: n, AttributeValue: t})
	}
	return carry
}

// withTemplate applies the attributes a Re-key (Re-key Key Pair,
// Re-certify) request gives to those the replacement carries over from
// the replaced object. KMIP (1.0 to 2.1, Re-key): the replacement's Name is "set to the
// name(s) of the existing key; all name attributes are removed from the
// existing key"; names the request gives are further names of the
// replacement, added after the carried ones (vector TC-REKEY-1-10: after
// four re-keys the last key has the original name and the four new ones).
// Any other attribute the request gives replaces the carried instances.
func withTemplate(carry, attrs []kmip.Attribute) []kmip.Attribute {
	for _, a := range attrs {
		if a.AttributeName != kmip.AttributeNameName {
			carry = removeNamed(carry, a.AttributeName)
		}
	}
	for _, a := range attrs {
		if a.AttributeName == kmip.AttributeNameName && hasName(carry, a.AttributeValue) {
			continue
		}
		carry = append(carry, a)
	}
	return carry
}

// hasName reports whether attrs already hold the Name v.
func hasName(attrs []kmip.Attribute, v any) bool {
	n, ok := v.(kmip.Name)
	if !ok {
		return false
	}
	for _, a := range attrs {
		if c, isName := a.AttributeValue.(kmip.Name); isName && a.AttributeName == kmip.AttributeNameName && c == n {
			return true
		}
	}
	return false
}
