package device

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/eedk"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/store"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want codec.Status
	}{
		{name: "pending", err: fmt.Errorf("discover: %w", devices.ErrPending), want: codec.StatusPending},
		{name: "rejected", err: devices.ErrRejected, want: codec.StatusUnknownDevice},
		{name: "disabled", err: devices.ErrDisabled, want: codec.StatusRefused},
		{name: "revoked", err: devices.ErrRevoked, want: codec.StatusRefused},
		{name: "wrong serial", err: ErrWrongSerial, want: codec.StatusRefused},
		{name: "label not found", err: labels.ErrNotFound, want: codec.StatusNotFound},
		{name: "no private key", err: labels.ErrNoPrivateKey, want: codec.StatusWrongState},
		{name: "none opens", err: ErrNoOpen, want: codec.StatusNotFound},
		{name: "replay mismatch", err: ErrReplayMismatch, want: codec.StatusBadRequest},
		{name: "malformed", err: codec.ErrMalformed, want: codec.StatusBadRequest},
		{name: "store fault", err: store.ErrClosed, want: codec.StatusInternal},
		{name: "unknown", err: errors.New("disk on fire"), want: codec.StatusInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := statusOf(tt.err)
			if got != tt.want || msg == "" {
				t.Fatalf("statusOf(%v) = %s %q, want %s", tt.err, got, msg, tt.want)
			}
			if _, err := codec.Encode(codec.Error{Status: got, Message: msg}); err != nil {
				t.Fatalf("message not encodable: %v", err)
			}
		})
	}
}

func TestForDevice(t *testing.T) {
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name    string
		pub     any
		priv    any
		want    codec.WrapAlgorithm
		wantErr bool
	}{
		{name: "RSA-2048", pub: &rsa2048.PublicKey, priv: rsa2048, want: codec.WrapRSAOAEPSHA256},
		{name: "P-256", pub: &p256.PublicKey, priv: p256, want: codec.WrapECDHP256},
		{name: "RSA-1024 refused", pub: &rsa1024.PublicKey, wantErr: true},
		{name: "P-384 refused", pub: &p384.PublicKey, wantErr: true},
		{name: "Ed25519 refused", pub: edPub, wantErr: true},
	}
	key := bytes.Repeat([]byte{7}, eedk.DataKeySize)
	id := codec.RequestID{1, 2, 3}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wk, err := forDevice(tt.pub, key, codec.TypeReadKeyResponse, id)
			if tt.wantErr {
				if !errors.Is(err, ErrKeyType) {
					t.Fatalf("err %v, want ErrKeyType", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if wk.Algorithm != tt.want || bytes.Contains(wk.Ciphertext, key) {
				t.Fatalf("algorithm %s", wk.Algorithm)
			}
			got, err := eedk.OpenAsDevice(tt.priv, wk.Ciphertext, codec.WrapContext(codec.TypeReadKeyResponse, id))
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("open: %v", err)
			}
			if _, err := eedk.OpenAsDevice(tt.priv, wk.Ciphertext, codec.WrapContext(codec.TypeWriteKeyResponse, id)); err == nil {
				t.Fatal("wrapped key opened under another response type")
			}
		})
	}
}

// fakeSealer is a hand-written Sealer binding values to bucket and key.
type fakeSealer struct{}

func (fakeSealer) Seal(bucket string, key, plain []byte) ([]byte, error) {
	return append([]byte(bucket+"|"+string(key)+"|"), plain...), nil
}

func (fakeSealer) Open(bucket string, key, sealed []byte) ([]byte, error) {
	prefix := []byte(bucket + "|" + string(key) + "|")
	if !bytes.HasPrefix(sealed, prefix) {
		return nil, errors.New("fake: tampered")
	}
	return sealed[len(prefix):], nil
}

func TestReplayEntries(t *testing.T) {
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "s.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &Server{opts: Options{Store: st, Sealer: fakeSealer{}, Now: func() time.Time { return now }}}
	ctx := context.Background()
	if n, err := s.PruneReplay(ctx); err != nil || n != 0 {
		t.Fatalf("prune of an empty store: %d %v", n, err)
	}
	put := func(dev string, id codec.RequestID, digest [32]byte, resp string) error {
		var cmd store.Command
		if err := s.replayPut(&cmd, dev, id, digest, []byte(resp), s.replayExists(dev, id)); err != nil {
			return err
		}
		return st.Apply(ctx, cmd)
	}
	id1, id2 := codec.RequestID{1}, codec.RequestID{2}
	dg := [32]byte{9}
	if err := put("dev-a", id1, dg, "old"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(ReplayTTL / 2)
	if err := put("dev-a", id2, dg, "young"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dev     string
		id      codec.RequestID
		digest  [32]byte
		want    string
		wantErr error
	}{
		{name: "stored", dev: "dev-a", id: id1, digest: dg, want: "old"},
		{name: "other device", dev: "dev-b", id: id1, digest: dg},
		{name: "other body", dev: "dev-a", id: id1, digest: [32]byte{8}, wantErr: ErrReplayMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := s.replayLookup(tt.dev, tt.id, tt.digest)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if string(got) != tt.want || ok != (tt.want != "") {
				t.Fatalf("got %q %v, want %q", got, ok, tt.want)
			}
		})
	}
	t.Run("expired entry ignored and pruned", func(t *testing.T) {
		now = now.Add(ReplayTTL/2 + time.Minute)
		if _, ok, err := s.replayLookup("dev-a", id1, dg); ok || err != nil {
			t.Fatalf("expired entry answered: %v %v", ok, err)
		}
		if n, err := s.PruneReplay(ctx); err != nil || n != 1 {
			t.Fatalf("pruned %d (%v), want 1", n, err)
		}
		if s.replayExists("dev-a", id1) || !s.replayExists("dev-a", id2) {
			t.Fatal("prune removed the wrong entries")
		}
		// A new request under the expired id is stored afresh.
		if err := put("dev-a", id1, [32]byte{5}, "new"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("concurrent duplicate conflicts", func(t *testing.T) {
		var cmd store.Command
		if err := s.replayPut(&cmd, "dev-a", id2, dg, []byte("dup"), false); err != nil {
			t.Fatal(err)
		}
		if err := st.Apply(ctx, cmd); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second write of a live entry: %v, want ErrConflict", err)
		}
	})
}
