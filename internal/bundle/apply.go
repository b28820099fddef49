package bundle

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/importer"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/labels"
)

// Policy says what Apply does with a conflict: a name the server already
// uses for another key.
type Policy string

// The policies.
const (
	// Refuse (the default) refuses the whole import, writing nothing.
	Refuse Policy = "refuse"
	// Skip keeps the server's object and leaves the bundle's out.
	Skip Policy = "skip"
	// Rename imports a conflicting label under a new name (the name and
	// RenameSuffix, then a number). Key groups cannot be renamed: tapes
	// record their aliases; a key group conflict is refused.
	Rename Policy = "rename"
)

// resolve is what p does with a conflict. Under Rename, a conflict that
// cannot be renamed (a key group) refuses the import, unlike a migration,
// which skips it: a bundle's key group carries the keys tapes were
// written with, and leaving it out silently would strand them.
func (p Policy) resolve(renamable bool) importer.Verdict {
	ip, _ := policyWords.Policy(string(p))
	return ip.Resolve(renamable, importer.Refused)
}

// policyWords are the policies' words on the wire.
var policyWords = importer.Words{Refuse: string(Refuse), Skip: string(Skip), Rename: string(Rename)}

// DefaultRenameSuffix is appended to a renamed label.
const DefaultRenameSuffix = "_IMPORTED"

// ErrConflict is returned by Apply when the bundle conflicts with the
// server's labels or key groups under the chosen policy; nothing was
// written.
var ErrConflict = errors.New("bundle: conflicts with this server")

// ImportOptions tunes Apply.
type ImportOptions struct {
	// OnConflict is the policy; empty means Refuse.
	OnConflict Policy
	// RenameSuffix for Rename; empty means DefaultRenameSuffix.
	RenameSuffix string
}

// Actions of an Outcome.
const (
	ActionImported  = "imported"
	ActionIdentical = "identical" // the server holds the same key already
	ActionSkipped   = "skipped"   // a conflict, skipped
	ActionRenamed   = "renamed"   // a conflict, imported under As
	ActionConflict  = "conflict"  // a conflict, refused
)

// Outcome is what Apply did, or would do, with one label or key group.
type Outcome struct {
	Kind   string `json:"kind"` // "label" or "keygroup"
	Name   string `json:"name"`
	Action string `json:"action"`
	// As is the label's name on this server when renamed.
	As string `json:"as,omitempty"`
	// Detail explains a conflict or a note (keys without material).
	Detail string `json:"detail,omitempty"`
}

// Result lists the outcomes of an import, labels first.
type Result struct {
	Items []Outcome `json:"items"`
}

// ConflictError carries the outcomes of a refused import.
type ConflictError struct {
	Result *Result
}

func (e *ConflictError) Error() string {
	var names []string
	for _, o := range e.Result.Items {
		if o.Action == ActionConflict {
			names = append(names, fmt.Sprintf("%s %q (%s)", o.Kind, o.Name, o.Detail))
		}
	}
	return "bundle: conflicts with this server, nothing imported: " + strings.Join(names, "; ")
}

func (e *ConflictError) Unwrap() error { return ErrConflict }

// plannedLabel is a label to write.
type plannedLabel struct {
	src Label
	as  string
}

// Apply imports c: it checks every label and key group first, and writes
// nothing if any conflict is refused; then it imports. A label with the
// same name and the same public key, or a key group with the same aliases
// and key material, is already there ("identical").
//
// The labels are written first, the key groups last. When a write fails,
// the labels written before it are removed again (exactly the objects the
// import created: the names are free again), and the error is an
// *ImportError naming the failed write: it matches ErrUndone when the
// server holds what it held before, ErrPartial when writes are left — key
// groups, which are never undone, or a label that changed meanwhile.
func Apply(ctx context.Context, s Services, c *Contents, o ImportOptions) (*Result, error) {
	return apply(ctx, s, c, o, serviceWriter{s})
}

// apply is Apply with its writes done by w.
func apply(ctx context.Context, s Services, c *Contents, o ImportOptions, w writer) (*Result, error) {
	policy := o.OnConflict
	if policy == "" {
		policy = Refuse
	}
	if _, ok := policyWords.Policy(string(policy)); !ok {
		return nil, fmt.Errorf("%w: conflict policy %q: want refuse, skip or rename", labels.ErrInvalid, policy)
	}
	suffix := o.RenameSuffix
	if suffix == "" {
		suffix = DefaultRenameSuffix
	}
	if (len(c.Labels) > 0 && s.Labels == nil) || (len(c.KeyGroups) > 0 && (s.KeyGroups == nil || s.Keys == nil)) {
		return nil, errors.New("bundle: the label or key group service is not available")
	}
	res := &Result{Items: []Outcome{}}
	var todoLabels []plannedLabel
	var todoGroups []KeyGroup
	refused := false
	for _, l := range c.Labels {
		out, as, err := planLabel(ctx, s.Labels, l, policy, suffix)
		if err != nil {
			return nil, err
		}
		res.Items = append(res.Items, out)
		switch out.Action {
		case ActionImported, ActionRenamed:
			todoLabels = append(todoLabels, plannedLabel{src: l, as: as})
		case ActionConflict:
			refused = true
		}
	}
	for _, g := range c.KeyGroups {
		out, err := planGroup(ctx, s, g, policy)
		if err != nil {
			return nil, err
		}
		res.Items = append(res.Items, out)
		switch out.Action {
		case ActionImported:
			todoGroups = append(todoGroups, g)
		case ActionConflict:
			refused = true
		}
	}
	if refused {
		return res, &ConflictError{Result: res}
	}
	if err := write(ctx, s, w, todoLabels, todoGroups, res); err != nil {
		return res, err
	}
	s.logger().Info("bundle: imported", "labels", len(todoLabels), "keygroups", len(todoGroups))
	return res, nil
}

// planLabel decides what to do with one label, and under which name.
func planLabel(ctx context.Context, ls *labels.Service, l Label, policy Policy, suffix string) (Outcome, string, error) {
	out := Outcome{Kind: "label", Name: l.Name}
	if err := labels.ValidateName(l.Name); err != nil {
		return out, "", fmt.Errorf("bundle: %w", err)
	}
	same, exists, err := sameLabelKey(ctx, ls, l.Name, l.CertPEM)
	if err != nil {
		return out, "", err
	}
	switch {
	case !exists:
		out.Action = ActionImported
		return out, l.Name, nil
	case same:
		out.Action = ActionIdentical
		return out, "", nil
	}
	out.Detail = "this server has a label of that name with another key"
	switch policy.resolve(true) {
	case importer.Skipped:
		out.Action = ActionSkipped
		return out, "", nil
	case importer.Renamed:
		// The first candidate free, or holding the same key (an earlier
		// import renamed it).
		var same bool
		as, err := importer.Renamer{Suffix: suffix}.First(l.Name, 100, func(as string) (bool, error) {
			if err := labels.ValidateName(as); err != nil {
				return false, fmt.Errorf("bundle: rename %q: %w", l.Name, err)
			}
			var exists bool
			var err error
			same, exists, err = sameLabelKey(ctx, ls, as, l.CertPEM)
			return same || !exists, err
		})
		switch {
		case errors.Is(err, importer.ErrNoFreeName):
			return out, "", fmt.Errorf("bundle: no free name to rename label %q to", l.Name)
		case err != nil:
			return out, "", err
		case same:
			out.Action, out.As = ActionIdentical, as
			return out, "", nil
		}
		out.Action, out.As = ActionRenamed, as
		return out, as, nil
	}
	out.Action = ActionConflict
	return out, "", nil
}

// sameLabelKey reports whether label name exists and whether its
// certificate holds the same public key as certPEM.
func sameLabelKey(ctx context.Context, ls *labels.Service, name, certPEM string) (same, exists bool, err error) {
	mine, err := ls.ExportCert(ctx, name)
	if errors.Is(err, labels.ErrNotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("bundle: label %q: %w", name, err)
	}
	a, err := parseCert([]byte(certPEM))
	if err != nil {
		return false, true, fmt.Errorf("%w: label %q: %w", ErrDamaged, name, err)
	}
	b, err := parseCert(mine)
	if err != nil {
		return false, true, fmt.Errorf("bundle: label %q on this server: %w", name, err)
	}
	return bytes.Equal(a.RawSubjectPublicKeyInfo, b.RawSubjectPublicKeyInfo), true, nil
}

func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// planGroup decides what to do with one key group.
func planGroup(ctx context.Context, s Services, g KeyGroup, policy Policy) (Outcome, error) {
	out := Outcome{Kind: "keygroup", Name: g.Name}
	switch {
	case strings.TrimSpace(g.Name) == "":
		return out, fmt.Errorf("%w: a key group without a name", ErrDamaged)
	case len(g.Keys) == 0:
		return out, fmt.Errorf("%w: key group %q has no keys", ErrDamaged, g.Name)
	}
	// What a key group write would refuse is refused here, before any
	// write: a key group is not undone once written.
	seen := map[string]bool{}
	for _, k := range g.Keys {
		switch {
		case strings.TrimSpace(k.Alias) == "":
			return out, fmt.Errorf("%w: key group %q has a key without an alias", ErrDamaged, g.Name)
		case seen[strings.ToLower(k.Alias)]:
			return out, fmt.Errorf("%w: key group %q: alias %q given twice", ErrDamaged, g.Name, k.Alias)
		case len(k.Material) != 0 && len(k.Material) != 16 && len(k.Material) != 24 && len(k.Material) != 32:
			return out, fmt.Errorf("%w: key group %q: key %q has %d bytes of material, not an AES key", ErrDamaged, g.Name, k.Alias, len(k.Material))
		}
		seen[strings.ToLower(k.Alias)] = true
	}
	conflict := ""
	existing, err := s.KeyGroups.Get(ctx, g.Name)
	switch {
	case errors.Is(err, keygroups.ErrNotFound):
		// A new group: none of its aliases may be used by another key.
		for _, k := range g.Keys {
			ids, err := aliasIDs(ctx, s.Keys, k.Alias)
			if err != nil {
				return out, err
			}
			if len(ids) > 0 {
				conflict = fmt.Sprintf("alias %q is a key of another key group on this server", k.Alias)
				break
			}
		}
	case err != nil:
		return out, fmt.Errorf("bundle: key group %q: %w", g.Name, err)
	default:
		same, why, err := sameGroup(ctx, s.Keys, existing, g)
		if err != nil {
			return out, err
		}
		if same {
			out.Action = ActionIdentical
			return out, nil
		}
		conflict = "this server has a key group of that name with other keys: " + why
	}
	if conflict == "" {
		out.Action = ActionImported
		return out, nil
	}
	out.Detail = conflict
	if policy.resolve(false) == importer.Skipped {
		out.Action = ActionSkipped
	} else {
		out.Action = ActionConflict
		if policy == Rename {
			out.Detail += " (key groups cannot be renamed: tapes record their aliases; use skip)"
		}
	}
	return out, nil
}

// sameGroup compares a server's key group with a bundle's.
func sameGroup(ctx context.Context, m *keys.Manager, have keygroups.KeyGroup, want KeyGroup) (bool, string, error) {
	if !slices.Equal(have.Aliases(), aliases(want)) {
		return false, "the aliases differ", nil
	}
	for i, k := range have.Keys {
		material, _, err := keyMaterial(ctx, m, k.ObjectID)
		if err != nil {
			return false, "", fmt.Errorf("bundle: key group %q: %w", have.Name, err)
		}
		same := bytes.Equal(material, want.Keys[i].Material)
		clear(material)
		if !same {
			return false, fmt.Sprintf("key %q differs", k.Alias), nil
		}
	}
	return true, "", nil
}

func aliases(g KeyGroup) []string {
	out := make([]string, len(g.Keys))
	for i, k := range g.Keys {
		out[i] = k.Alias
	}
	return out
}

// aliasIDs returns the key group keys named alias (in any case, as key
// group aliases compare), destroyed ones included.
func aliasIDs(ctx context.Context, m *keys.Manager, alias string) ([]string, error) {
	var out []string
	for _, a := range dedupe([]string{alias, strings.ToLower(alias), strings.ToUpper(alias)}) {
		for _, st := range []*kmip.State{nil, ptr(kmip.StateDestroyed), ptr(kmip.StateDestroyedCompromised)} {
			q := []kmip.Attribute{
				{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeSymmetricKey},
				{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: a, NameType: kmip.NameTypeUninterpretedTextString}},
			}
			if st != nil {
				q = append(q, kmip.Attribute{AttributeName: kmip.AttributeNameState, AttributeValue: *st})
			}
			ids, _, err := m.Locate(scope(ctx), keys.LocateQuery{Attributes: q, IncludeArchived: true})
			if err != nil {
				return nil, fmt.Errorf("bundle: find alias %q: %w", alias, err)
			}
			for _, id := range ids {
				o, err := m.Get(scope(ctx), id)
				if err != nil {
					continue
				}
				if _, ok := o.Attr(keygroups.AttrKeyGroup); ok && !slices.Contains(out, id) {
					out = append(out, id)
				}
			}
		}
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
