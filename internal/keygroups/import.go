package keygroups

import (
	"context"
	"fmt"
	"slices"
	"strings"

	kmip "github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// ImportKey is one key of a key group to import with its own material, as
// a label bundle carries it.
type ImportKey struct {
	// Alias is the key's alias.
	Alias string
	// Material is the AES key: 16, 24 or 32 bytes, or none for a key
	// whose material the source no longer has. Import registers no key
	// for such an alias but claims it with the others, so no other group
	// takes it while this one has keys.
	Material []byte
	// Active says the key is activated; otherwise it stays pre-active.
	Active bool
}

// Import registers key group name with the keys given, in order, as
// Symmetric Keys like Create's, and activates the active ones. Like
// Create, it refuses a group name or an alias that a key group already
// has with ErrExists: the first key registered takes the group name and
// every alias (those without material too) in the same store command, so
// of an import and a creation or another import that race for one name or
// one alias, exactly one writes.
//
// registered names the aliases of the keys registered, in order, also when
// Import fails: keys registered before a failure stay. A group none of
// whose keys has material writes nothing. Import does not keep ks's
// material; the caller clears it.
func (s *Service) Import(ctx context.Context, name string, ks []ImportKey) (registered []string, err error) {
	if err := checkImport(name, ks); err != nil {
		return nil, err
	}
	ctx = scope(ctx)
	aliases := make([]string, len(ks))
	for i, k := range ks {
		aliases[i] = k.Alias
	}
	for _, k := range ks {
		if len(k.Material) == 0 {
			continue
		}
		var o *keys.Object
		if len(registered) == 0 {
			// The first key takes the group's name and all its aliases
			// (claim.go), after the checks; nothing is left when it fails.
			o, err = s.claimFirst(ctx, "import", name, aliases, k.Alias, func(claims []keys.Claim) (*keys.Object, error) {
				return registerKey(ctx, s.keys, claims, name, k)
			})
			if err != nil {
				return nil, err
			}
		} else if o, err = registerKey(ctx, s.keys, nil, name, k); err != nil {
			s.log.Error("key group import failed; keys left behind", "group", name, "registered", len(registered))
			return registered, fmt.Errorf("keygroups: import %q: key %q: %w", name, k.Alias, err)
		}
		registered = append(registered, k.Alias)
		if !k.Active {
			continue
		}
		if err := s.keys.Activate(ctx, o.ID); err != nil {
			s.log.Error("key group import failed; keys left behind", "group", name, "registered", len(registered))
			return registered, fmt.Errorf("keygroups: import %q: activate %q: %w", name, k.Alias, err)
		}
	}
	if len(registered) > 0 {
		s.log.Info("key group imported", "group", name, "keys", len(registered))
	}
	return registered, nil
}

// checkImport refuses with ErrInvalid what Import cannot write: no name,
// no keys, an empty or repeated alias (aliases compare without case), or
// material that is not an AES key.
func checkImport(name string, ks []ImportKey) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: empty key group name", ErrInvalid)
	}
	if len(ks) == 0 {
		return fmt.Errorf("%w: key group %q has no keys", ErrInvalid, name)
	}
	seen := make(map[string]bool, len(ks))
	for _, k := range ks {
		lower := strings.ToLower(k.Alias)
		switch {
		case strings.TrimSpace(k.Alias) == "":
			return fmt.Errorf("%w: key group %q has a key without an alias", ErrInvalid, name)
		case seen[lower]:
			return fmt.Errorf("%w: key group %q: alias %q given twice", ErrInvalid, name, k.Alias)
		case len(k.Material) != 0 && !slices.Contains([]int{16, 24, 32}, len(k.Material)):
			return fmt.Errorf("%w: key group %q: key %q has %d bytes of material, not an AES key", ErrInvalid, name, k.Alias, len(k.Material))
		}
		seen[lower] = true
	}
	return nil
}

// registerKey registers k's material as the key group key of k.Alias in
// group, writing claims (read by ReadClaims, none for a key after the
// first) in the same store command, named for the group.
func registerKey(ctx context.Context, m *keys.Manager, claims []keys.Claim, group string, k ImportKey) (*keys.Object, error) {
	material := slices.Clone(k.Material)
	defer clear(material)
	bits := int32(len(material) * 8)
	value := &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{
		KeyFormatType:          kmip.KeyFormatTypeRaw,
		KeyValue:               &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &material}}},
		CryptographicAlgorithm: kmip.CryptographicAlgorithmAES,
		CryptographicLength:    bits,
	}}
	// Without claims, RegisterClaiming is Register.
	return m.RegisterClaiming(ctx, claims, group, kmip.ObjectTypeSymmetricKey, value, keyAttrs(group, k.Alias, bits))
}
