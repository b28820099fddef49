package keygroups

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keys"
	kmip "github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// AttrKeyGroup is the custom attribute that names the key group of each of
// its keys (a KMIP Symmetric Key whose Name is the alias).
const AttrKeyGroup kmip.AttributeName = "x-keywarden-keygroup"

// keySize is the size of a key group's keys: AES-256.
const keySize = 32

// Errors of the key group service.
var (
	// ErrNotFound: no key group, or no key group key, of that name.
	ErrNotFound = errors.New("keygroups: not found")
	// ErrExists: a key group of that name, or a key group key with one
	// of the aliases, already exists.
	ErrExists = errors.New("keygroups: already exists")
	// ErrInvalid: an invalid group name or alias set.
	ErrInvalid = errors.New("keygroups: invalid argument")
	// ErrUnavailable: the key exists but cannot be served (destroyed,
	// or not active).
	ErrUnavailable = errors.New("keygroups: key is not available")
)

// Key is one key of a group, without its material.
type Key struct {
	Alias    string `json:"alias"`
	ObjectID string `json:"object_id"`
	State    string `json:"state"`
}

// KeyGroup is a named set of pre-generated AES-256 keys, in alias order.
type KeyGroup struct {
	Name string `json:"name"`
	Keys []Key  `json:"keys"`
}

// Aliases returns the group's aliases in order.
func (g KeyGroup) Aliases() []string {
	out := make([]string, len(g.Keys))
	for i, k := range g.Keys {
		out[i] = k.Alias
	}
	return out
}

// Service creates key groups and serves their keys. Keys are keys.Manager
// Symmetric Key objects in the device group "default", so KMIP clients and
// `keywarden key list` see them.
//
// The round-robin position of each group is kept in memory only: after a
// restart (or on another node) selection starts again at the first alias.
// This only affects which key the next write gets, never which key a read
// finds, because a tape records its key's alias.
type Service struct {
	keys *keys.Manager
	log  *slog.Logger

	mu   sync.Mutex
	next map[string]int
}

// New returns a Service over m; a nil logger discards.
func New(m *keys.Manager, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{keys: m, log: logger, next: map[string]int{}}
}

// scope is the access of the service's own operations: the server's view,
// new objects in the default group.
func scope(ctx context.Context) context.Context {
	return keys.WithAccess(ctx, keys.Access{Group: keys.DefaultGroup, AllGroups: true})
}

func textAttr(name kmip.AttributeName, s string) kmip.Attribute {
	return kmip.Attribute{AttributeName: name, AttributeValue: ttlv.Value{Tag: kmip.TagAttributeValue, Value: s}}
}

func textValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case ttlv.Value:
		s, _ := x.Value.(string)
		return s
	}
	return ""
}

// Create creates key group name with one fresh, active AES-256 key per
// alias of aliasSet (symmetricKeySet syntax, see ParseAliasSet). A group
// name follows the device group rules; a group of the same name, or a key
// group key with one of the aliases, is refused.
func (s *Service) Create(ctx context.Context, name, aliasSet string) (KeyGroup, error) {
	if err := devices.ValidateGroupName(name); err != nil {
		return KeyGroup{}, fmt.Errorf("%w: group name: %w", ErrInvalid, err)
	}
	aliases, err := ParseAliasSet(aliasSet)
	if err != nil {
		return KeyGroup{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	ctx = scope(ctx)
	g := KeyGroup{Name: name}
	for i, a := range aliases {
		var o *keys.Object
		if i == 0 {
			// The first key takes the group's name and all its aliases
			// (claim.go), after the checks; nothing is left when it fails.
			if o, err = s.createFirst(ctx, name, aliases); err != nil {
				return KeyGroup{}, err
			}
		} else {
			o, err = s.keys.Create(ctx, kmip.ObjectTypeSymmetricKey, keyAttrs(name, a, keySize*8))
		}
		if err != nil {
			s.log.Error("key group creation failed; keys left behind", "group", name, "created", len(g.Keys))
			return KeyGroup{}, fmt.Errorf("keygroups: create %q: key %q: %w", name, a, err)
		}
		if err := s.keys.Activate(ctx, o.ID); err != nil {
			s.log.Error("key group creation failed; keys left behind", "group", name, "created", len(g.Keys)+1)
			return KeyGroup{}, fmt.Errorf("keygroups: create %q: activate %q: %w", name, a, err)
		}
		g.Keys = append(g.Keys, Key{Alias: a, ObjectID: o.ID, State: ttlv.EnumStr(kmip.StateActive)})
	}
	s.log.Info("key group created", "group", name, "keys", len(g.Keys))
	return g, nil
}

// keyAttrs are the attributes of the key group key of alias in group, an
// AES key of bits bits.
func keyAttrs(group, alias string, bits int32) []kmip.Attribute {
	return []kmip.Attribute{
		{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES},
		{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: bits},
		{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt},
		{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: alias, NameType: kmip.NameTypeUninterpretedTextString}},
		textAttr(AttrKeyGroup, group),
	}
}

// groupIDs returns the ids of the group's keys in creation (alias) order.
func (s *Service) groupIDs(ctx context.Context, name string) ([]string, error) {
	ids, _, err := s.keys.Locate(ctx, keys.LocateQuery{Attributes: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeSymmetricKey},
		textAttr(AttrKeyGroup, name),
	}})
	if err != nil {
		return nil, fmt.Errorf("keygroups: locate group %q: %w", name, err)
	}
	return ids, nil
}

// describe returns the alias and group of a key group key, or ok false.
func describe(o *keys.Object) (alias, group string, ok bool) {
	v, found := o.Attr(AttrKeyGroup)
	if !found || o.Type != kmip.ObjectTypeSymmetricKey {
		return "", "", false
	}
	n, _ := o.Attr(kmip.AttributeNameName)
	name, isName := n.(kmip.Name)
	if !isName {
		return "", "", false
	}
	return name.NameValue, textValue(v), true
}

// Get returns key group name with its keys in alias order.
func (s *Service) Get(ctx context.Context, name string) (KeyGroup, error) {
	ctx = scope(ctx)
	ids, err := s.groupIDs(ctx, name)
	if err != nil {
		return KeyGroup{}, err
	}
	g := KeyGroup{Name: name}
	for _, id := range ids {
		o, err := s.keys.Get(ctx, id)
		if err != nil {
			if errors.Is(err, keys.ErrNotFound) {
				continue
			}
			return KeyGroup{}, fmt.Errorf("keygroups: get %q: %w", name, err)
		}
		alias, group, ok := describe(o)
		if !ok || group != name {
			continue
		}
		g.Keys = append(g.Keys, Key{Alias: alias, ObjectID: o.ID, State: ttlv.EnumStr(o.EffectiveState(s.keys.Now()))})
	}
	if len(g.Keys) == 0 {
		return KeyGroup{}, fmt.Errorf("%w: key group %q", ErrNotFound, name)
	}
	return g, nil
}

// List returns every key group, in order of creation of their first key.
// It reads every symmetric key once.
func (s *Service) List(ctx context.Context) ([]KeyGroup, error) {
	ctx = scope(ctx)
	ids, _, err := s.keys.Locate(ctx, keys.LocateQuery{Attributes: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeSymmetricKey},
	}})
	if err != nil {
		return nil, fmt.Errorf("keygroups: list: %w", err)
	}
	out := []KeyGroup{}
	pos := map[string]int{}
	for _, id := range ids {
		o, err := s.keys.Get(ctx, id)
		if err != nil {
			if errors.Is(err, keys.ErrNotFound) {
				continue
			}
			return nil, fmt.Errorf("keygroups: list: %w", err)
		}
		alias, group, ok := describe(o)
		if !ok {
			continue
		}
		i, seen := pos[group]
		if !seen {
			i = len(out)
			pos[group] = i
			out = append(out, KeyGroup{Name: group})
		}
		out[i].Keys = append(out[i].Keys, Key{Alias: alias, ObjectID: o.ID, State: ttlv.EnumStr(o.EffectiveState(s.keys.Now()))})
	}
	return out, nil
}

// find returns the key group key of alias (compared without case). A key
// found only among destroyed objects is ErrUnavailable.
func (s *Service) find(ctx context.Context, alias string) (*keys.Object, error) {
	// Name matching is exact in the index: try the alias as given, then
	// in lower and upper case, as ParseAliasSet compares without case.
	var cands []string
	for _, a := range []string{alias, strings.ToLower(alias), strings.ToUpper(alias)} {
		if !slices.Contains(cands, a) {
			cands = append(cands, a)
		}
	}
	// First the live objects, then the destroyed ones (Locate leaves
	// those out unless the query names a State).
	for _, st := range []*kmip.State{nil, ptr(kmip.StateDestroyed), ptr(kmip.StateDestroyedCompromised)} {
		for _, a := range cands {
			q := []kmip.Attribute{
				{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeSymmetricKey},
				{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: a, NameType: kmip.NameTypeUninterpretedTextString}},
			}
			if st != nil {
				q = append(q, kmip.Attribute{AttributeName: kmip.AttributeNameState, AttributeValue: *st})
			}
			ids, _, err := s.keys.Locate(ctx, keys.LocateQuery{Attributes: q, IncludeArchived: true})
			if err != nil {
				return nil, fmt.Errorf("keygroups: find %q: %w", alias, err)
			}
			for _, id := range ids {
				o, err := s.keys.Get(ctx, id)
				if err != nil {
					if errors.Is(err, keys.ErrNotFound) {
						continue
					}
					return nil, fmt.Errorf("keygroups: find %q: %w", alias, err)
				}
				if _, _, ok := describe(o); !ok {
					continue
				}
				if st != nil {
					return nil, fmt.Errorf("%w: key alias %q is destroyed", ErrUnavailable, alias)
				}
				return o, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: key alias %q", ErrNotFound, alias)
}

func ptr[T any](v T) *T { return &v }
