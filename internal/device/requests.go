package device

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/eedk"
	"github.com/keywarden/keywarden/internal/store"
	"github.com/keywarden/keywarden/internal/usage"
)

// served is what a handler produces: the response and its usage record.
type served struct {
	resp   codec.Message
	record usage.Record
}

// serveRequest identifies the device, answers a retry from the replay
// entries, runs the handler, and commits the usage record and the replay
// entry in one store command before the response is sent. It notes in ev
// the device, volume, labels and key the request involved.
func (s *Server) serveRequest(ctx context.Context, p *peer, msg codec.Message, digest [32]byte, ev *audit.Event) ([]byte, error) {
	info, err := describe(msg)
	if err != nil {
		return nil, err
	}
	ev.Client.Serial, ev.Client.WWN, ev.Volser = info.serial, info.wwn, info.volser
	d, err := s.identify(ctx, p, info)
	ev.Client.DeviceID = d.ID
	if err != nil {
		ev.Type = audit.TypeAuth
		s.recordRefusal(ctx, info, d.ID, err)
		return nil, err
	}
	if out, ok, err := s.replayLookup(d.ID, msg.ID(), digest); err != nil {
		return nil, err
	} else if ok {
		s.log.Info("device: retry answered from the replay entry", "device", d.ID, "type", msg.Type().String())
		ev.Reason = "retry answered from the replay entry"
		return out, nil
	}
	var res served
	switch m := msg.(type) {
	case codec.WriteKeyRequest:
		res, err = s.writeKey(ctx, p, d, m)
	case codec.ReadKeyRequest:
		res, err = s.readKey(ctx, p, d, m)
	case codec.RekeyRequest:
		res, err = s.rekey(ctx, d, m)
	case codec.LTOWriteRequest:
		res, err = s.ltoWrite(ctx, p, d, m)
	case codec.LTOReadRequest:
		res, err = s.ltoRead(ctx, p, d, m)
	case codec.DiskKeyCreateRequest:
		res, err = s.diskCreate(ctx, p, d, m)
	case codec.DiskUnlockRequest:
		res, err = s.diskUnlock(ctx, p, d, m)
	default:
		err = fmt.Errorf("%w: %s", ErrUnsupported, msg.Type())
	}
	if err != nil {
		s.recordRefusal(ctx, info, d.ID, err)
		return nil, err
	}
	out, err := codec.Encode(res.resp)
	if err != nil {
		return nil, fmt.Errorf("device: encode %s: %w", res.resp.Type(), err)
	}
	rec := res.record
	rec.Protocol, rec.Operation, rec.Outcome = usage.ProtocolDevice, info.operation, usage.OutcomeOK
	rec.DeviceID, rec.DriveSerial, rec.Volser = d.ID, d.Serial, info.volser
	if rec.WWN == "" {
		rec.WWN = firstNonEmpty(info.wwn, d.WWN)
	}
	noteServed(ev, rec)
	var cmd store.Command
	if err := s.opts.Usage.Append(&cmd, rec); err != nil {
		return nil, fmt.Errorf("device: usage record: %w", err)
	}
	if err := s.replayPut(&cmd, d.ID, msg.ID(), digest, out, s.replayExists(d.ID, msg.ID())); err != nil {
		return nil, err
	}
	if err := s.opts.Store.Apply(ctx, cmd); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// A concurrent retry of the same request committed first:
			// answer what it answered.
			if prev, ok, lerr := s.replayLookup(d.ID, msg.ID(), digest); lerr == nil && ok {
				return prev, nil
			}
		}
		return nil, fmt.Errorf("device: commit %s: %w", msg.Type(), err)
	}
	s.log.Info("device: key served", "device", d.ID, "op", info.operation, "volser", info.volser,
		"alias1", rec.Alias1, "alias2", rec.Alias2)
	return out, nil
}

// recordRefusal records a refused or failed request in the usage log,
// best effort: a failure to record is logged only.
func (s *Server) recordRefusal(ctx context.Context, info requestInfo, deviceID string, cause error) {
	st, msg := statusOf(cause)
	outcome := usage.OutcomeRefused
	if st == codec.StatusInternal {
		outcome = usage.OutcomeFailed
	}
	rec := usage.Record{
		Protocol: usage.ProtocolDevice, Operation: info.operation, Outcome: outcome, Reason: msg,
		DeviceID: deviceID, DriveSerial: info.serial, WWN: info.wwn, Volser: info.volser,
	}
	if err := s.opts.Usage.Record(ctx, rec); err != nil {
		s.log.Warn("device: record refusal", "err", err)
	}
}

// forDevice wraps key for the device whose certificate holds pub, bound to
// the response type and request id.
func forDevice(pub crypto.PublicKey, key []byte, respType codec.Type, id codec.RequestID) (codec.WrappedKey, error) {
	var alg codec.WrapAlgorithm
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return codec.WrappedKey{}, fmt.Errorf("RSA-%d certificate: %w", k.N.BitLen(), ErrKeyType)
		}
		alg = codec.WrapRSAOAEPSHA256
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return codec.WrappedKey{}, fmt.Errorf("ECDSA %s certificate: %w", k.Curve.Params().Name, ErrKeyType)
		}
		alg = codec.WrapECDHP256
	default:
		return codec.WrappedKey{}, fmt.Errorf("%T certificate: %w", pub, ErrKeyType)
	}
	ct, err := eedk.ForDevice(pub, key, codec.WrapContext(respType, id))
	if err != nil {
		return codec.WrappedKey{}, fmt.Errorf("device: wrap for device: %w", err)
	}
	return codec.WrappedKey{Algorithm: alg, Ciphertext: ct}, nil
}

// pickLabels returns the two labels of a write: the request's, else the
// device's, else its group's defaults, else the server-wide defaults (those
// of the group "default", the seed's drive.default.alias1/2), slot by slot.
// Group defaults are those in effect now: the registry applies a rollover
// whose time has come.
func (s *Server) pickLabels(d devices.Device, req1, req2 string) (string, string, error) {
	l1, l2 := firstNonEmpty(req1, d.Alias1), firstNonEmpty(req2, d.Alias2)
	for i, name := range []string{d.Group, devices.DefaultGroup} {
		if (l1 != "" && l2 != "") || (i > 0 && strings.EqualFold(name, d.Group)) {
			break
		}
		g, err := s.opts.Registry.Group(name)
		if err != nil {
			return "", "", fmt.Errorf("device: group %q of %s: %w", name, d.ID, err)
		}
		l1, l2 = firstNonEmpty(l1, g.Alias1), firstNonEmpty(l2, g.Alias2)
	}
	if l1 == "" || l2 == "" {
		return "", "", fmt.Errorf("device %s (group %s): %w", d.ID, d.Group, ErrNoLabels)
	}
	return l1, l2, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
