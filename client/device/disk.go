package device

import (
	"context"
	"fmt"

	"github.com/keywarden/keywarden/internal/device/codec"
)

// Rekey sends a 3592 volume's current EEDKs and asks keywarden to re-wrap
// its data key under two new labels (RekeyRequest). A zero req.RequestID is
// replaced by a fresh random id. It returns the new EEDKs; the data key
// itself is not returned to the drive.
func (c *Client) Rekey(ctx context.Context, req codec.RekeyRequest) (eedk1, eedk2 codec.EEDK, err error) {
	if req.RequestID, err = ensureID(req.RequestID); err != nil {
		return codec.EEDK{}, codec.EEDK{}, err
	}
	m, err := c.roundTrip(ctx, req, codec.TypeRekeyResponse)
	if err != nil {
		return codec.EEDK{}, codec.EEDK{}, fmt.Errorf("device: rekey: %w", err)
	}
	resp := m.(codec.RekeyResponse)
	return resp.EEDK1, resp.EEDK2, nil
}

// DiskKeyCreate asks for a disk array's unlock key (DiskKeyCreateRequest).
// It returns the unlock key unwrapped with the client's private key and the
// EEDK pair the array keeps to unlock later. The caller must not log or
// store the unlock key.
func (c *Client) DiskKeyCreate(ctx context.Context, arraySerial string) (unlockKey []byte, eedk1, eedk2 codec.EEDK, err error) {
	id, err := ensureID(codec.RequestID{})
	if err != nil {
		return nil, codec.EEDK{}, codec.EEDK{}, err
	}
	req := codec.DiskKeyCreateRequest{RequestID: id, ArraySerial: arraySerial}
	m, err := c.roundTrip(ctx, req, codec.TypeDiskKeyCreateResponse)
	if err != nil {
		return nil, codec.EEDK{}, codec.EEDK{}, fmt.Errorf("device: disk key create: %w", err)
	}
	resp := m.(codec.DiskKeyCreateResponse)
	key, err := c.unwrap(resp.Key, codec.TypeDiskKeyCreateResponse, id)
	if err != nil {
		return nil, codec.EEDK{}, codec.EEDK{}, fmt.Errorf("device: disk key create: %w", err)
	}
	return key, resp.EEDK1, resp.EEDK2, nil
}

// DiskUnlock sends an array's EEDK (e2 may be zero) and returns the unlock
// key unwrapped with the client's private key (DiskUnlockRequest).
func (c *Client) DiskUnlock(ctx context.Context, arraySerial string, e1, e2 codec.EEDK) (unlockKey []byte, err error) {
	id, err := ensureID(codec.RequestID{})
	if err != nil {
		return nil, err
	}
	req := codec.DiskUnlockRequest{RequestID: id, ArraySerial: arraySerial, EEDK1: e1, EEDK2: e2}
	m, err := c.roundTrip(ctx, req, codec.TypeDiskUnlockResponse)
	if err != nil {
		return nil, fmt.Errorf("device: disk unlock: %w", err)
	}
	key, err := c.unwrap(m.(codec.DiskUnlockResponse).Key, codec.TypeDiskUnlockResponse, id)
	if err != nil {
		return nil, fmt.Errorf("device: disk unlock: %w", err)
	}
	return key, nil
}
