package device

import (
	"context"
	"errors"
	"fmt"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/usage"
)

// ErrNoKeyGroup: an LTO write without a key alias from a drive whose
// group has no key group.
var ErrNoKeyGroup = errors.New("device: no key group configured")

// ltoWrite serves an LTO write: the key of the request's alias, else the
// drive's alias, else the next key of its group's key group in round
// robin; the answer carries the key identifier for the tape and the key
// wrapped for the drive. Only keys Options.KeyGroupGate accepts are served.
func (s *Server) ltoWrite(ctx context.Context, p *peer, d devices.Device, m codec.LTOWriteRequest) (served, error) {
	if s.opts.KeyGroups == nil {
		return served{}, fmt.Errorf("%w: %s (no key group service)", ErrUnsupported, m.Type())
	}
	var (
		keyID string
		key   []byte
		err   error
	)
	if alias := firstNonEmpty(m.KeyAlias, d.KeyAlias); alias != "" {
		keyID = alias
		key, err = s.opts.KeyGroups.ByAliasGated(ctx, alias, s.ltoWriteGate())
	} else {
		g, gerr := s.opts.Registry.Group(d.Group)
		if gerr != nil {
			return served{}, fmt.Errorf("device: group %q of %s: %w", d.Group, d.ID, gerr)
		}
		if g.KeyGroup == "" {
			return served{}, fmt.Errorf("device %s (group %s): %w", d.ID, d.Group, ErrNoKeyGroup)
		}
		_, keyID, key, err = s.opts.KeyGroups.NextGated(ctx, g.KeyGroup, s.ltoWriteGate())
	}
	if err != nil {
		return served{}, fmt.Errorf("device: LTO write for %s: %w", d.ID, err)
	}
	defer clear(key)
	wk, err := forDevice(p.cert.PublicKey, key, codec.TypeLTOWriteResponse, m.RequestID)
	if err != nil {
		return served{}, err
	}
	return served{
		resp:   codec.LTOWriteResponse{RequestID: m.RequestID, KeyID: keyID, Key: wk},
		record: usage.Record{KeyID: keyID},
	}, nil
}

// ltoWriteGate is Options.KeyGroupGate with its refusals marked
// ErrKeyNotBackedUp; nil when there is none.
func (s *Server) ltoWriteGate() keygroups.Gate {
	gate := s.opts.KeyGroupGate
	if gate == nil {
		return nil
	}
	return func(o *keys.Object) error {
		if err := gate(o); err != nil {
			return fmt.Errorf("%w: %w", ErrKeyNotBackedUp, err)
		}
		return nil
	}
}

// ltoRead serves an LTO read: the key the tape's identifier names,
// wrapped for the drive. It never consults Options.KeyGroupGate: a tape
// already written stays readable.
func (s *Server) ltoRead(ctx context.Context, p *peer, d devices.Device, m codec.LTOReadRequest) (served, error) {
	if s.opts.KeyGroups == nil {
		return served{}, fmt.Errorf("%w: %s (no key group service)", ErrUnsupported, m.Type())
	}
	key, err := s.opts.KeyGroups.ByKeyID(ctx, m.KeyID)
	if err != nil {
		return served{}, fmt.Errorf("device: LTO read for %s: %w", d.ID, err)
	}
	defer clear(key)
	wk, err := forDevice(p.cert.PublicKey, key, codec.TypeLTOReadResponse, m.RequestID)
	if err != nil {
		return served{}, err
	}
	return served{
		resp:   codec.LTOReadResponse{RequestID: m.RequestID, Key: wk},
		record: usage.Record{KeyID: m.KeyID},
	}, nil
}
