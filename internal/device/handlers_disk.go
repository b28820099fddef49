package device

import (
	"context"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/usage"
)

// diskCreate serves a DS8000 array's first unlock key: an EEDK pair under
// the array's (or its group's) labels, and the key wrapped for the array.
func (s *Server) diskCreate(ctx context.Context, p *peer, d devices.Device, m codec.DiskKeyCreateRequest) (served, error) {
	l1, l2, err := s.pickLabels(d, "", "")
	if err != nil {
		return served{}, err
	}
	if err := s.checkWriteGate(ctx, l1, l2); err != nil {
		return served{}, err
	}
	uk, e1, e2, err := s.newEEDKPair(ctx, l1, l2, codec.EncodingLabel, codec.EncodingLabel)
	if err != nil {
		return served{}, err
	}
	defer clear(uk)
	wk, err := forDevice(p.cert.PublicKey, uk, codec.TypeDiskKeyCreateResponse, m.RequestID)
	if err != nil {
		return served{}, err
	}
	return served{
		resp:   codec.DiskKeyCreateResponse{RequestID: m.RequestID, EEDK1: e1, EEDK2: e2, Key: wk},
		record: usage.Record{Alias1: l1, Alias2: l2},
	}, nil
}

// diskUnlock opens the array's EEDK (one or both of the pair) and wraps
// the unlock key for the array.
func (s *Server) diskUnlock(ctx context.Context, p *peer, d devices.Device, m codec.DiskUnlockRequest) (served, error) {
	uk, err := s.openEEDKs(ctx, m.EEDK1, m.EEDK2)
	if err != nil {
		return served{}, err
	}
	defer clear(uk)
	wk, err := forDevice(p.cert.PublicKey, uk, codec.TypeDiskUnlockResponse, m.RequestID)
	if err != nil {
		return served{}, err
	}
	return served{
		resp:   codec.DiskUnlockResponse{RequestID: m.RequestID, Key: wk},
		record: usage.Record{Alias1: s.refName(ctx, m.EEDK1), Alias2: s.refName(ctx, m.EEDK2)},
	}, nil
}
