package device_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/usage"
)

func TestWriteRead3592(t *testing.T) {
	env := setup(t)
	d := newDrive(t, env, "drive-1", devices.Family3592, "DRV0001", "tapes", devices.StateActive)
	tests := []struct {
		name           string
		label1, label2 string
		enc            codec.Encoding
		want1, want2   string
	}{
		{name: "group defaults, L", want1: "lbl_a", want2: "lbl_b"},
		{name: "request labels, L", label1: "lbl_b", label2: "lbl_a", enc: codec.EncodingLabel, want1: "lbl_b", want2: "lbl_a"},
		{name: "group defaults, H", enc: codec.EncodingHash, want1: "lbl_a", want2: "lbl_b"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.t = t
			volser := "VOL00" + string(rune('A'+i))
			wreq := codec.WriteKeyRequest{RequestID: newID(t), DriveSerial: "DRV0001", WWN: "5005076300000001",
				Volser: volser, Label1: tt.label1, Label2: tt.label2, Encoding1: tt.enc, Encoding2: tt.enc}
			got, wraw := d.do(wreq)
			w, ok := got.(codec.WriteKeyResponse)
			if !ok {
				t.Fatalf("write answered %#v", got)
			}
			dk := d.open(w.Key, codec.TypeWriteKeyResponse, wreq.RequestID)
			wantEnc := tt.enc
			if wantEnc == 0 {
				wantEnc = codec.EncodingLabel
			}
			if w.EEDK1.Encoding != wantEnc || w.EEDK2.Encoding != wantEnc {
				t.Fatalf("encodings %c %c, want %c", w.EEDK1.Encoding, w.EEDK2.Encoding, wantEnc)
			}
			if wantEnc == codec.EncodingLabel && (string(w.EEDK1.KeyRef) != tt.want1 || string(w.EEDK2.KeyRef) != tt.want2) {
				t.Fatalf("EEDK labels %q %q, want %q %q", w.EEDK1.KeyRef, w.EEDK2.KeyRef, tt.want1, tt.want2)
			}
			if wantEnc == codec.EncodingHash && len(w.EEDK1.KeyRef) != codec.KeyHashLen {
				t.Fatalf("H key reference of %d bytes", len(w.EEDK1.KeyRef))
			}
			for _, eedks := range [][2]codec.EEDK{{w.EEDK1, w.EEDK2}, {w.EEDK2, {}}, {w.EEDK1, {}}} {
				rreq := codec.ReadKeyRequest{RequestID: newID(t), DriveSerial: "DRV0001", Volser: volser, EEDK1: eedks[0], EEDK2: eedks[1]}
				if eedks[1].IsZero() {
					rreq.EEDK2 = eedks[0] // both required: send the same twice
				}
				got, rraw := d.do(rreq)
				r, ok := got.(codec.ReadKeyResponse)
				if !ok {
					t.Fatalf("read answered %#v", got)
				}
				if back := d.open(r.Key, codec.TypeReadKeyResponse, rreq.RequestID); !bytes.Equal(back, dk) {
					t.Fatal("read returned another data key than the write")
				}
				if bytes.Contains(rraw, dk) {
					t.Fatal("data key in clear in the read response")
				}
			}
			if bytes.Contains(wraw, dk) {
				t.Fatal("data key in clear in the write response")
			}
			recs, err := env.Server.Usage().Query(context.Background(), usage.Query{Volser: volser})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 4 || recs[0].Operation != "write" || recs[0].Alias1 != tt.want1 || recs[0].Alias2 != tt.want2 ||
				recs[0].DriveSerial != "DRV0001" || recs[0].WWN != "5005076300000001" || recs[1].Operation != "read" ||
				recs[1].Alias1 != tt.want1 || recs[0].Outcome != usage.OutcomeOK {
				t.Fatalf("usage records for %s: %+v", volser, recs)
			}
		})
	}
	t.Run("usage by label", func(t *testing.T) {
		recs, err := env.Server.Usage().Query(context.Background(), usage.Query{Alias: "lbl_b"})
		if err != nil {
			t.Fatal(err)
		}
		vols := map[string]bool{}
		for _, r := range recs {
			vols[r.Volser] = true
		}
		if len(vols) != 3 {
			t.Fatalf("volumes under lbl_b: %v", vols)
		}
	})
}

func TestReadErrors(t *testing.T) {
	env := setup(t)
	d := newDrive(t, env, "drive-1", devices.Family3592, "DRV0001", "tapes", devices.StateActive)
	wreq := codec.WriteKeyRequest{RequestID: newID(t), DriveSerial: "DRV0001", WWN: "1", Volser: "V1"}
	got, _ := d.do(wreq)
	w := got.(codec.WriteKeyResponse)
	corrupt := w.EEDK1
	corrupt.Data = bytes.Clone(corrupt.Data)
	corrupt.Data[0] ^= 1
	unknown := codec.EEDK{Encoding: codec.EncodingLabel, KeyRef: []byte("nope"), Data: w.EEDK1.Data}
	tests := []struct {
		name         string
		eedk1, eedk2 codec.EEDK
		want         codec.Status
	}{
		{name: "unknown labels", eedk1: unknown, eedk2: unknown, want: codec.StatusNotFound},
		{name: "corrupted EEDK", eedk1: corrupt, eedk2: corrupt, want: codec.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.t = t
			got, _ := d.do(codec.ReadKeyRequest{RequestID: newID(t), DriveSerial: "DRV0001", Volser: "V1", EEDK1: tt.eedk1, EEDK2: tt.eedk2})
			wantStatus(t, got, tt.want)
		})
	}
	t.Run("corrupted first, good second", func(t *testing.T) {
		d.t = t
		got, _ := d.do(codec.ReadKeyRequest{RequestID: newID(t), DriveSerial: "DRV0001", Volser: "V1", EEDK1: corrupt, EEDK2: w.EEDK2})
		if _, ok := got.(codec.ReadKeyResponse); !ok {
			t.Fatalf("answered %#v", got)
		}
	})
}

func TestIdentity(t *testing.T) {
	env := setup(t)
	ctx := context.Background()
	active := newDrive(t, env, "drive-ok", devices.Family3592, "DRV0001", "tapes", devices.StateActive)
	pending := newDrive(t, env, "drive-pending", devices.Family3592, "DRV0002", "tapes", devices.StatePending)
	disabled := newDrive(t, env, "drive-off", devices.Family3592, "DRV0003", "tapes", devices.StateDisabled)
	unbound := newDrive(t, env, "drive-new", "", "", "", "")
	auditor := &drive{t: t, conf: env.IssueClient(t, "auditor-1", pki.RoleAuditor), addr: env.DeviceAddr}
	t.Cleanup(auditor.close)
	array := newDrive(t, env, "array-1", devices.FamilyDS8K, "ARR0001", "arrays", devices.StateActive)
	write := func(serial string) codec.WriteKeyRequest {
		return codec.WriteKeyRequest{RequestID: newID(t), DriveSerial: serial, WWN: "1", Volser: "V1"}
	}
	tests := []struct {
		name  string
		drive *drive
		req   codec.Message
		want  codec.Status
	}{
		{name: "wrong serial refused", drive: active, req: write("DRV0009"), want: codec.StatusRefused},
		{name: "bound pending device", drive: pending, req: write("DRV0002"), want: codec.StatusPending},
		{name: "disabled device refused", drive: disabled, req: write("DRV0003"), want: codec.StatusRefused},
		{name: "unknown drive parked pending", drive: unbound, req: write("NEW0001"), want: codec.StatusPending},
		{name: "unknown drive still pending", drive: unbound, req: write("NEW0001"), want: codec.StatusPending},
		{name: "serial of a bound device refused", drive: unbound, req: write("DRV0001"), want: codec.StatusRefused},
		{name: "auditor certificate refused", drive: auditor, req: write("AUD0001"), want: codec.StatusRefused},
		{name: "array asking for a tape key refused", drive: array, req: write("ARR0001"), want: codec.StatusRefused},
		{name: "drive asking for a disk key refused", drive: active, req: codec.DiskKeyCreateRequest{RequestID: newID(t), ArraySerial: "DRV0001"}, want: codec.StatusRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.drive.t = t
			got, _ := tt.drive.do(tt.req)
			wantStatus(t, got, tt.want)
		})
	}
	t.Run("unknown drive under reject policy", func(t *testing.T) {
		if _, err := env.Server.Devices().ModifyGroup(ctx, devices.DefaultGroup, func(g *devices.Group) error {
			g.Unknown = devices.PolicyReject
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		unbound.t = t
		got, _ := unbound.do(write("NEW0002"))
		wantStatus(t, got, codec.StatusUnknownDevice)
	})
	t.Run("refusals recorded", func(t *testing.T) {
		recs, err := env.Server.Usage().Query(ctx, usage.Query{DriveSerial: "DRV0009"})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].Outcome != usage.OutcomeRefused || recs[0].Reason == "" {
			t.Fatalf("refusal records: %+v", recs)
		}
	})
}
