package device

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/eedk"
)

func TestDiskKeyCreateUnlock(t *testing.T) {
	p := newPKI(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := startFake(t, p, answer)
	c := newClient(t, p.clientTLS(t, key), 5*time.Second, closedAddr(t), srv.addr())
	ctx := context.Background()
	uk, e1, e2, err := c.DiskKeyCreate(ctx, "75ABCD1")
	if err != nil {
		t.Fatal(err)
	}
	if len(uk) != eedk.DataKeySize || string(e1.KeyRef) != "D20" || string(e2.KeyRef) != "D21" {
		t.Fatalf("disk key create: %d-byte key, EEDK refs %q %q", len(uk), e1.KeyRef, e2.KeyRef)
	}
	for _, tc := range []struct {
		name   string
		e1, e2 codec.EEDK
	}{
		{"both EEDKs", e1, e2},
		{"EEDK1 alone", e1, codec.EEDK{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			back, err := c.DiskUnlock(ctx, "75ABCD1", tc.e1, tc.e2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, uk) {
				t.Fatal("unlock returned another key than create")
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		_, _, _, err := c.DiskKeyCreate(ctx, "UNKNOWN")
		var de *Error
		if !errors.As(err, &de) || de.Status != codec.StatusUnknownDevice {
			t.Fatalf("create for an unknown array: %v", err)
		}
		bad := e1
		bad.Data = bytes.Clone(e1.Data)
		bad.Data[0] ^= 1
		if _, err := c.DiskUnlock(ctx, "75ABCD1", bad, codec.EEDK{}); !errors.As(err, &de) || de.Status != codec.StatusWrongState {
			t.Fatalf("unlock with a damaged EEDK: %v", err)
		}
	})
}

func TestRekey(t *testing.T) {
	p := newPKI(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := startFake(t, p, answer)
	c := newClient(t, p.clientTLS(t, key), 5*time.Second, srv.addr())
	ctx := context.Background()
	dk, e1, e2, err := c.WriteKey(ctx, codec.WriteKeyRequest{DriveSerial: "0000078A1234", WWN: "WWN1", Volser: "VOL001"})
	if err != nil {
		t.Fatal(err)
	}
	n1, n2, err := c.Rekey(ctx, codec.RekeyRequest{DriveSerial: "0000078A1234", Volser: "VOL001",
		Label1: "P30", Label2: "P31", EEDK1: e1, EEDK2: e2})
	if err != nil {
		t.Fatal(err)
	}
	if string(n1.KeyRef) != "P30" || string(n2.KeyRef) != "P31" {
		t.Fatalf("rekey: new EEDK refs %q %q", n1.KeyRef, n2.KeyRef)
	}
	back, err := c.ReadKey(ctx, "0000078A1234", "VOL001", n1, n2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, dk) {
		t.Fatal("the new EEDKs hold another data key")
	}

	t.Run("failover reuses the request id", func(t *testing.T) {
		down := startFake(t, p, internal)
		c := newClient(t, p.clientTLS(t, key), 5*time.Second, down.addr(), srv.addr())
		id := codec.RequestID{1, 2, 3}
		if _, _, err := c.Rekey(ctx, codec.RekeyRequest{RequestID: id, DriveSerial: "0000078A1234", Volser: "VOL001",
			Label1: "P30", Label2: "P31", EEDK1: e1, EEDK2: e2}); err != nil {
			t.Fatal(err)
		}
		if got := down.seen(); len(got) != 1 || got[0] != id {
			t.Fatalf("first server saw %v, want [%v]", got, id)
		}
		if got := srv.seen(); got[len(got)-1] != id {
			t.Fatalf("second server last saw %v, want %v", got[len(got)-1], id)
		}
	})
}
