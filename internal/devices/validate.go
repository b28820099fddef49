package devices

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"
	"unicode"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/pki"
)

// Limits on the values of a device or group.
const (
	// MaxGroupNameLen is the longest group name, as in SKLM.
	MaxGroupNameLen = 16
	maxSerialLen    = 64
	maxLabelLen     = 64  // WWN, aliases, key alias, key group
	maxTextLen      = 256 // descriptions, subjects, reasons
)

// Families returns every device family, in a stable order.
func Families() []Family {
	return []Family{Family3592, FamilyLTO, FamilyDS8K, FamilyGeneric}
}

// ParseFamily returns the family named s, ignoring case.
func ParseFamily(s string) (Family, error) {
	for _, f := range Families() {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	if s == "" {
		return "", invalidf("family is required (one of 3592, LTO, DS8K, GENERIC)")
	}
	return "", invalidf("family %q: must be one of 3592, LTO, DS8K, GENERIC", s)
}

// ParsePolicy returns the unknown-device policy named s, ignoring case.
// SKLM's numbers for device.AutoPendingAutoDiscovery are understood too:
// 0 reject, 1 accept, 2 pending.
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "reject", "0":
		return PolicyReject, nil
	case "accept", "1":
		return PolicyAccept, nil
	case "pending", "2":
		return PolicyPending, nil
	}
	return "", invalidf("unknown-device policy %q: must be reject, accept or pending", s)
}

// ParseState returns the device state named s, ignoring case.
func ParseState(s string) (State, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "active":
		return StateActive, nil
	case "pending":
		return StatePending, nil
	case "disabled":
		return StateDisabled, nil
	}
	return "", invalidf("device state %q: must be active, pending or disabled", s)
}

// ValidateGroupName checks a group name against SKLM's rules: a letter
// first, then letters, digits or underscores, at most 16 characters, and
// not a family name (3592, LTO, DS8K, GENERIC, in any case).
func ValidateGroupName(name string) error {
	switch {
	case name == "":
		return invalidf("group name is empty")
	case len(name) > MaxGroupNameLen:
		return invalidf("group name %q: must be at most %d characters", name, MaxGroupNameLen)
	case !isLetter(rune(name[0])):
		return invalidf("group name %q: must start with a letter", name)
	}
	for _, c := range name {
		if !isLetter(c) && !(c >= '0' && c <= '9') && c != '_' {
			return invalidf("group name %q: may contain only letters, digits and underscores (found %q)", name, c)
		}
	}
	for _, f := range Families() {
		if strings.EqualFold(name, string(f)) {
			return invalidf("group name %q: is reserved (a device family name)", name)
		}
	}
	return nil
}

func isLetter(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Fingerprint returns the fingerprint of a certificate: the lowercase hex
// SHA-256 of its DER encoding.
func Fingerprint(cert *x509.Certificate) string { return pki.Fingerprint(cert) }

// NormalizeFingerprint returns fp as 64 lowercase hex digits. Upper case
// and the colons of `openssl x509 -fingerprint -sha256` are accepted.
func NormalizeFingerprint(fp string) (string, error) {
	s := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(fp), ":", ""))
	if len(s) != 2*sha256.Size {
		return "", invalidf("fingerprint %q: must be the SHA-256 of the certificate, 64 hex digits", fp)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", invalidf("fingerprint %q: must be hex digits", fp)
	}
	return s, nil
}

// checkLabel checks a short free-text value: at most max bytes, no
// control characters; space is refused when spaces is false.
func checkLabel(field, v string, max int, spaces bool) error {
	if len(v) > max {
		return invalidf("%s %q: must be at most %d characters", field, v, max)
	}
	for _, c := range v {
		if unicode.IsControl(c) || c == unicode.ReplacementChar || (!spaces && unicode.IsSpace(c)) {
			return invalidf("%s %q: contains %q, which is not allowed", field, v, c)
		}
	}
	return nil
}

// operationNames maps the squeezed lowercase name of every KMIP operation
// to its name in the specification.
var operationNames = func() map[string]string {
	m := map[string]string{}
	for _, name := range ttlv.EnumValues[kmip.Operation]() {
		m[squeeze(name)] = name
	}
	return m
}()

func squeeze(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }

// normalizeOps returns the KMIP operation names in ops as the specification
// spells them ("get attributes" → "GetAttributes"), without duplicates.
func normalizeOps(ops []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, op := range ops {
		name, ok := operationNames[squeeze(op)]
		if !ok {
			return nil, invalidf("KMIP operation %q: unknown (e.g. Get, Locate, Create, GetAttributes)", op)
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}

// normalizeGroup checks g and returns it with canonical family, policy and
// operation names; an empty policy becomes def.
func normalizeGroup(g Group, def Policy) (Group, error) {
	if err := ValidateGroupName(g.Name); err != nil {
		return Group{}, err
	}
	var err error
	if g.Family, err = ParseFamily(string(g.Family)); err != nil {
		return Group{}, err
	}
	if g.Unknown == "" {
		g.Unknown = def
	}
	if g.Unknown, err = ParsePolicy(string(g.Unknown)); err != nil {
		return Group{}, err
	}
	for _, l := range []struct{ field, v string }{{"alias1", g.Alias1}, {"alias2", g.Alias2}, {"key group", g.KeyGroup}} {
		if err := checkLabel(l.field, l.v, maxLabelLen, false); err != nil {
			return Group{}, err
		}
	}
	if g.AllowedOps, err = normalizeOps(g.AllowedOps); err != nil {
		return Group{}, err
	}
	if g.Rollovers, err = normalizeRollovers(g.Rollovers); err != nil {
		return Group{}, err
	}
	return g, nil
}

// normalizeDevice checks the values of d that do not depend on the store
// and returns it with canonical family, state and fingerprints.
func normalizeDevice(d Device) (Device, error) {
	var err error
	if d.Family, err = ParseFamily(string(d.Family)); err != nil {
		return Device{}, err
	}
	d.Serial = strings.TrimSpace(d.Serial)
	if d.Serial == "" {
		return Device{}, invalidf("serial number is required")
	}
	if err := checkLabel("serial number", d.Serial, maxSerialLen, false); err != nil {
		return Device{}, err
	}
	if d.Group == "" {
		d.Group = DefaultGroup
	}
	if d.State == "" {
		d.State = StateActive
	}
	if d.State, err = ParseState(string(d.State)); err != nil {
		return Device{}, err
	}
	for _, l := range []struct {
		field, v string
		max      int
		spaces   bool
	}{
		{"WWN", d.WWN, maxLabelLen, false},
		{"alias1", d.Alias1, maxLabelLen, false},
		{"alias2", d.Alias2, maxLabelLen, false},
		{"key alias", d.KeyAlias, maxLabelLen, false},
		{"description", d.Description, maxTextLen, true},
	} {
		if err := checkLabel(l.field, l.v, l.max, l.spaces); err != nil {
			return Device{}, err
		}
	}
	fps := make([]string, 0, len(d.Fingerprints))
	seen := map[string]bool{}
	for _, fp := range d.Fingerprints {
		n, err := NormalizeFingerprint(fp)
		if err != nil {
			return Device{}, err
		}
		if !seen[n] {
			seen[n] = true
			fps = append(fps, n)
		}
	}
	d.Fingerprints = fps
	if len(fps) == 0 {
		d.Fingerprints = nil
	}
	return d, nil
}

// compatible reports whether a device of family f may be in group g.
func compatible(f Family, g Group) error {
	if g.Family == FamilyGeneric || g.Family == f {
		return nil
	}
	return invalidf("a %s device cannot be in group %q, whose family is %s", f, g.Name, g.Family)
}

// truncateText shortens s to at most n bytes on a rune boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
