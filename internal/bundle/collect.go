package bundle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/labels"
)

// Services are the server's services a bundle is read from and written to.
type Services struct {
	Labels    *labels.Service
	KeyGroups *keygroups.Service
	Keys      *keys.Manager
	// Logger receives what was exported and imported (names, never keys);
	// nil discards.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (s Services) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s Services) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Selection names what to export.
type Selection struct {
	Labels    []string
	KeyGroups []string
	// Source names the exporting server in the bundle.
	Source string
}

// scope is the access of bundle operations: the whole server.
func scope(ctx context.Context) context.Context {
	return keys.WithAccess(ctx, keys.Access{Group: keys.DefaultGroup, AllGroups: true})
}

// Collect reads the selected labels (certificate and, when the label has
// one, private key) and key groups (every key's material) into Contents.
// The caller wipes the result.
func Collect(ctx context.Context, s Services, sel Selection) (*Contents, error) {
	if len(sel.Labels) == 0 && len(sel.KeyGroups) == 0 {
		return nil, fmt.Errorf("%w: name at least one label or key group to export", labels.ErrInvalid)
	}
	if (len(sel.Labels) > 0 && s.Labels == nil) || (len(sel.KeyGroups) > 0 && (s.KeyGroups == nil || s.Keys == nil)) {
		return nil, errors.New("bundle: the label or key group service is not available")
	}
	c := newContents(sel.Source, s.now())
	ok := false
	defer func() {
		if !ok {
			c.Wipe()
		}
	}()
	for _, name := range dedupe(sel.Labels) {
		l, err := s.Labels.Get(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("bundle: label %q: %w", name, err)
		}
		certPEM, err := s.Labels.ExportCert(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("bundle: label %q: %w", name, err)
		}
		bl := Label{Name: l.Name, OAEPHash: l.OAEPHash, CertPEM: string(certPEM)}
		if l.HasPrivateKey {
			keyPEM, err := s.Labels.ExportPrivateKey(ctx, name, labels.ExportOptions{Format: labels.FormatPEM})
			if err != nil {
				return nil, fmt.Errorf("bundle: label %q: %w", name, err)
			}
			bl.KeyPEM = string(keyPEM)
			clear(keyPEM)
		}
		c.Labels = append(c.Labels, bl)
	}
	for _, name := range dedupe(sel.KeyGroups) {
		g, err := s.KeyGroups.Get(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("bundle: key group %q: %w", name, err)
		}
		bg := KeyGroup{Name: g.Name}
		for _, k := range g.Keys {
			material, state, err := keyMaterial(ctx, s.Keys, k.ObjectID)
			if err != nil {
				return nil, fmt.Errorf("bundle: key group %q: key %q: %w", name, k.Alias, err)
			}
			bg.Keys = append(bg.Keys, Key{Alias: k.Alias, Material: material, State: state})
		}
		c.KeyGroups = append(c.KeyGroups, bg)
	}
	ok = true
	s.logger().Warn("bundle: labels and key groups exported", "labels", sel.Labels, "keygroups", sel.KeyGroups)
	return c, nil
}

// keyMaterial returns a copy of a symmetric key's material (nil once
// destroyed) and its state name.
func keyMaterial(ctx context.Context, m *keys.Manager, id string) ([]byte, string, error) {
	o, err := m.Get(scope(ctx), id)
	if err != nil {
		return nil, "", err
	}
	state := ttlv.EnumStr(o.EffectiveState(m.Now()))
	sk, isKey := o.Value.(*kmip.SymmetricKey)
	if !isKey {
		return nil, state, nil
	}
	b, err := sk.KeyBlock.GetBytes()
	if err != nil {
		return nil, "", fmt.Errorf("read key material: %w", err)
	}
	return slices.Clone(b), state, nil
}

// dedupe drops repeated names, keeping the first order.
func dedupe(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
