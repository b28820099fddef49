package device

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/eedk"
	"github.com/keywarden/keywarden/internal/usage"
)

// newDataKey returns a fresh AES-256 key: from the label service (the
// HSM's generator when hardware protection is required), else from
// crypto/rand.
func (s *Server) newDataKey() ([]byte, error) {
	if s.opts.Labels != nil {
		return s.opts.Labels.NewDataKey()
	}
	dk := make([]byte, eedk.DataKeySize)
	if _, err := rand.Read(dk); err != nil {
		return nil, fmt.Errorf("device: data key: %w", err)
	}
	return dk, nil
}

// newEEDKPair makes a fresh data key and its EEDKs under two labels. The
// caller clears the key.
func (s *Server) newEEDKPair(ctx context.Context, l1, l2 string, enc1, enc2 codec.Encoding) ([]byte, codec.EEDK, codec.EEDK, error) {
	dk, err := s.newDataKey()
	if err != nil {
		return nil, codec.EEDK{}, codec.EEDK{}, err
	}
	e1, err := s.wrapEEDK(ctx, l1, enc1, dk)
	if err != nil {
		clear(dk)
		return nil, codec.EEDK{}, codec.EEDK{}, err
	}
	e2, err := s.wrapEEDK(ctx, l2, enc2, dk)
	if err != nil {
		clear(dk)
		return nil, codec.EEDK{}, codec.EEDK{}, err
	}
	return dk, e1, e2, nil
}

// writeKey serves a 3592 write: a fresh data key, its two EEDKs and the key
// wrapped for the drive. The data key is never stored.
func (s *Server) writeKey(ctx context.Context, p *peer, d devices.Device, m codec.WriteKeyRequest) (served, error) {
	l1, l2, err := s.pickLabels(d, m.Label1, m.Label2)
	if err != nil {
		return served{}, err
	}
	if err := s.checkWriteGate(ctx, l1, l2); err != nil {
		return served{}, err
	}
	dk, e1, e2, err := s.newEEDKPair(ctx, l1, l2, m.Encoding1, m.Encoding2)
	if err != nil {
		return served{}, err
	}
	defer clear(dk)
	wk, err := forDevice(p.cert.PublicKey, dk, codec.TypeWriteKeyResponse, m.RequestID)
	if err != nil {
		return served{}, err
	}
	return served{
		resp:   codec.WriteKeyResponse{RequestID: m.RequestID, EEDK1: e1, EEDK2: e2, Key: wk},
		record: usage.Record{WWN: m.WWN, Alias1: l1, Alias2: l2},
	}, nil
}

// readKey serves a 3592 read: the data key from the first EEDK a label
// here opens, wrapped for the drive.
func (s *Server) readKey(ctx context.Context, p *peer, d devices.Device, m codec.ReadKeyRequest) (served, error) {
	dk, err := s.openEEDKs(ctx, m.EEDK1, m.EEDK2)
	if err != nil {
		return served{}, err
	}
	defer clear(dk)
	wk, err := forDevice(p.cert.PublicKey, dk, codec.TypeReadKeyResponse, m.RequestID)
	if err != nil {
		return served{}, err
	}
	return served{
		resp:   codec.ReadKeyResponse{RequestID: m.RequestID, Key: wk},
		record: usage.Record{WWN: m.WWN, Alias1: s.refName(ctx, m.EEDK1), Alias2: s.refName(ctx, m.EEDK2)},
	}, nil
}

// rekey re-wraps a volume's data key under two new labels (which may be a
// partner's certificate alone); the key is not returned to the drive. The
// new EEDKs replace the tape's, so the labels pass the write gate.
func (s *Server) rekey(ctx context.Context, d devices.Device, m codec.RekeyRequest) (served, error) {
	if err := s.checkWriteGate(ctx, m.Label1, m.Label2); err != nil {
		return served{}, err
	}
	dk, err := s.openEEDKs(ctx, m.EEDK1, m.EEDK2)
	if err != nil {
		return served{}, err
	}
	defer clear(dk)
	e1, err := s.wrapEEDK(ctx, m.Label1, m.Encoding1, dk)
	if err != nil {
		return served{}, err
	}
	e2, err := s.wrapEEDK(ctx, m.Label2, m.Encoding2, dk)
	if err != nil {
		return served{}, err
	}
	return served{
		resp:   codec.RekeyResponse{RequestID: m.RequestID, EEDK1: e1, EEDK2: e2},
		record: usage.Record{Alias1: m.Label1, Alias2: m.Label2},
	}, nil
}

// checkWriteGate asks Options.WriteGate whether keys may be served under
// the labels.
func (s *Server) checkWriteGate(ctx context.Context, labels ...string) error {
	if s.opts.WriteGate == nil {
		return nil
	}
	if err := s.opts.WriteGate(ctx, labels...); err != nil {
		return fmt.Errorf("%w: %w", ErrNotBackedUp, err)
	}
	return nil
}
