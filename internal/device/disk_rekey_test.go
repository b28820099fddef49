package device_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/testenv"
	"github.com/keywarden/keywarden/internal/usage"
)

func TestDisk(t *testing.T) {
	env := setup(t)
	a := newDrive(t, env, "array-1", devices.FamilyDS8K, "ARR0001", "arrays", devices.StateActive)
	creq := codec.DiskKeyCreateRequest{RequestID: newID(t), ArraySerial: "ARR0001"}
	got, raw := a.do(creq)
	c, ok := got.(codec.DiskKeyCreateResponse)
	if !ok {
		t.Fatalf("create answered %#v", got)
	}
	uk := a.open(c.Key, codec.TypeDiskKeyCreateResponse, creq.RequestID)
	if bytes.Contains(raw, uk) {
		t.Fatal("unlock key in clear in the response")
	}
	if string(c.EEDK1.KeyRef) != "lbl_b" || string(c.EEDK2.KeyRef) != "lbl_a" {
		t.Fatalf("EEDKs under %q %q, want the group's lbl_b lbl_a", c.EEDK1.KeyRef, c.EEDK2.KeyRef)
	}
	tests := []struct {
		name         string
		eedk1, eedk2 codec.EEDK
	}{
		{name: "both EEDKs", eedk1: c.EEDK1, eedk2: c.EEDK2},
		{name: "first only", eedk1: c.EEDK1},
		{name: "second only", eedk1: c.EEDK2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.t = t
			ureq := codec.DiskUnlockRequest{RequestID: newID(t), ArraySerial: "ARR0001", EEDK1: tt.eedk1, EEDK2: tt.eedk2}
			got, _ := a.do(ureq)
			u, ok := got.(codec.DiskUnlockResponse)
			if !ok {
				t.Fatalf("unlock answered %#v", got)
			}
			if !bytes.Equal(a.open(u.Key, codec.TypeDiskUnlockResponse, ureq.RequestID), uk) {
				t.Fatal("unlock returned another key")
			}
		})
	}
	t.Run("unknown array", func(t *testing.T) {
		other := newDrive(t, env, "array-x", "", "", "", "")
		got, _ := other.do(codec.DiskUnlockRequest{RequestID: newID(t), ArraySerial: "ARR0099", EEDK1: c.EEDK1})
		wantStatus(t, got, codec.StatusPending)
	})
	t.Run("usage", func(t *testing.T) {
		recs, err := env.Server.Usage().Query(context.Background(), usage.Query{DriveSerial: "ARR0001"})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 4 || recs[0].Operation != "disk-create" || recs[1].Operation != "disk-unlock" {
			t.Fatalf("records: %+v", recs)
		}
	})
}

func TestRekey(t *testing.T) {
	env := setup(t)
	ctx := context.Background()
	other := partnerCert(t)
	if _, err := env.Server.Labels().ImportCert(ctx, "partner", other); err != nil {
		t.Fatalf("import partner certificate: %v", err)
	}
	d := newDrive(t, env, "drive-1", devices.Family3592, "DRV0001", "tapes", devices.StateActive)
	wreq := codec.WriteKeyRequest{RequestID: newID(t), DriveSerial: "DRV0001", WWN: "1", Volser: "RKY001"}
	got, _ := d.do(wreq)
	w := got.(codec.WriteKeyResponse)
	dk := d.open(w.Key, codec.TypeWriteKeyResponse, wreq.RequestID)

	rreq := codec.RekeyRequest{RequestID: newID(t), DriveSerial: "DRV0001", Volser: "RKY001",
		Label1: "lbl_b", Label2: "partner", Encoding1: codec.EncodingHash, EEDK1: w.EEDK1, EEDK2: w.EEDK2}
	got, raw := d.do(rreq)
	r, ok := got.(codec.RekeyResponse)
	if !ok {
		t.Fatalf("rekey answered %#v", got)
	}
	if bytes.Contains(raw, dk) {
		t.Fatal("data key in clear in the rekey response")
	}
	t.Run("new EEDK opens to the same key", func(t *testing.T) {
		d.t = t
		req := codec.ReadKeyRequest{RequestID: newID(t), DriveSerial: "DRV0001", Volser: "RKY001", EEDK1: r.EEDK2, EEDK2: r.EEDK1}
		got, _ := d.do(req)
		rk, ok := got.(codec.ReadKeyResponse)
		if !ok {
			t.Fatalf("read answered %#v", got)
		}
		if !bytes.Equal(d.open(rk.Key, codec.TypeReadKeyResponse, req.RequestID), dk) {
			t.Fatal("rekeyed EEDK holds another key")
		}
	})
	t.Run("partner EEDK does not open here", func(t *testing.T) {
		d.t = t
		got, _ := d.do(codec.ReadKeyRequest{RequestID: newID(t), DriveSerial: "DRV0001", Volser: "RKY001", EEDK1: r.EEDK2, EEDK2: r.EEDK2})
		wantStatus(t, got, codec.StatusWrongState)
	})
	t.Run("usage", func(t *testing.T) {
		recs, err := env.Server.Usage().Query(ctx, usage.Query{Alias: "partner"})
		if err != nil {
			t.Fatal(err)
		}
		// The rekey and the read of the rekeyed EEDKs name the partner.
		if len(recs) != 2 || recs[0].Operation != "rekey" || recs[0].Volser != "RKY001" ||
			recs[0].Alias1 != "lbl_b" || recs[0].Alias2 != "partner" || recs[1].Operation != "read" {
			t.Fatalf("records under partner: %+v", recs)
		}
	})
}

// partnerCert returns the certificate of a label made on a second server:
// a partner's certificate whose private key this server lacks.
func partnerCert(t *testing.T) []byte {
	t.Helper()
	ctx := context.Background()
	partner := testenv.Start(t)
	if _, err := partner.Server.Labels().Create(ctx, "partner_src", labels.CreateOptions{SelfSigned: true}); err != nil {
		t.Fatal(err)
	}
	pem, err := partner.Server.Labels().ExportCert(ctx, "partner_src")
	if err != nil {
		t.Fatal(err)
	}
	return pem
}
