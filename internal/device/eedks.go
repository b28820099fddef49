package device

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/eedk"
	"github.com/keywarden/keywarden/internal/labels"
)

// wrapEEDK wraps dk under the label's public key, named by enc (L when
// zero).
func (s *Server) wrapEEDK(ctx context.Context, label string, enc codec.Encoding, dk []byte) (codec.EEDK, error) {
	if enc == 0 {
		enc = codec.EncodingLabel
	}
	pub, hash, err := s.opts.Labels.PublicKey(ctx, label)
	if err != nil {
		return codec.EEDK{}, fmt.Errorf("device: label %q: %w", label, err)
	}
	e, err := eedk.Wrap(pub, label, eedk.Encoding(enc), hash, dk)
	if err != nil {
		return codec.EEDK{}, fmt.Errorf("device: wrap under %q: %w", label, err)
	}
	ref := []byte(e.Ref)
	if enc == codec.EncodingHash {
		if ref, err = hex.DecodeString(e.Ref); err != nil {
			return codec.EEDK{}, fmt.Errorf("device: key hash of %q: %w", label, err)
		}
	}
	return codec.EEDK{Encoding: enc, KeyRef: ref, Data: e.Wrapped}, nil
}

// labelOf resolves an EEDK's key reference to its label name.
func (s *Server) labelOf(ctx context.Context, e codec.EEDK) (string, error) {
	if e.Encoding == codec.EncodingHash {
		l, err := s.opts.Labels.ByKeyHash(ctx, hex.EncodeToString(e.KeyRef))
		if err != nil {
			return "", fmt.Errorf("device: key hash %x: %w", e.KeyRef, err)
		}
		return l.Name, nil
	}
	return string(e.KeyRef), nil
}

// refName is how a usage record names an EEDK's key: its label, or the hex
// key hash when the label is unknown here.
func (s *Server) refName(ctx context.Context, e codec.EEDK) string {
	if e.IsZero() {
		return ""
	}
	if name, err := s.labelOf(ctx, e); err == nil {
		return name
	}
	if e.Encoding == codec.EncodingHash {
		return hex.EncodeToString(e.KeyRef)
	}
	return string(e.KeyRef)
}

// openEEDKs unwraps the data key from the first EEDK that a label's
// private key here opens, trying them in order. When none opens, the error
// is Internal if a fault occurred, WrongState if every label found lacks
// its private key, and ErrNoOpen otherwise.
func (s *Server) openEEDKs(ctx context.Context, list ...codec.EEDK) ([]byte, error) {
	var errs []error
	for _, e := range list {
		if e.IsZero() {
			continue
		}
		dk, err := s.openEEDK(ctx, e)
		if err == nil {
			return dk, nil
		}
		errs = append(errs, err)
	}
	noKey := len(errs) > 0
	for _, err := range errs {
		if !errorsIsAny(err, labels.ErrNotFound, labels.ErrInvalid, labels.ErrNoPrivateKey, eedk.ErrUnwrap, eedk.ErrInvalid) {
			return nil, errors.Join(errs...)
		}
		if !errors.Is(err, labels.ErrNoPrivateKey) {
			noKey = false
		}
	}
	if noKey {
		return nil, errors.Join(errs...)
	}
	return nil, fmt.Errorf("%w: %w", ErrNoOpen, errors.Join(errs...))
}

func (s *Server) openEEDK(ctx context.Context, e codec.EEDK) ([]byte, error) {
	name, err := s.labelOf(ctx, e)
	if err != nil {
		return nil, err
	}
	dec, hash, err := s.opts.Labels.Decrypter(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("device: label %q: %w", name, err)
	}
	dk, err := eedk.Unwrap(dec, eedk.EEDK{Encoding: eedk.Encoding(e.Encoding), Ref: name, Hash: hash, Wrapped: e.Data})
	if err != nil {
		return nil, fmt.Errorf("device: unwrap with %q: %w", name, err)
	}
	if len(dk) != eedk.DataKeySize {
		clear(dk)
		return nil, fmt.Errorf("device: unwrap with %q: %w", name, eedk.ErrUnwrap)
	}
	return dk, nil
}
