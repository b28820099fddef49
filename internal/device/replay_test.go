package device_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/usage"
)

func TestReplay(t *testing.T) {
	env := setup(t)
	d := newDrive(t, env, "drive-1", devices.Family3592, "DRV0001", "tapes", devices.StateActive)
	req := codec.WriteKeyRequest{RequestID: newID(t), DriveSerial: "DRV0001", WWN: "1", Volser: "RPL001"}
	_, first := d.do(req)
	if _, err := codec.Decode(first); err != nil {
		t.Fatal(err)
	}
	t.Run("same request, same connection", func(t *testing.T) {
		d.t = t
		if _, again := d.do(req); !bytes.Equal(again, first) {
			t.Fatal("retry answered differently")
		}
	})
	t.Run("same request, new connection", func(t *testing.T) {
		d.t = t
		d.close()
		if _, again := d.do(req); !bytes.Equal(again, first) {
			t.Fatal("retry after reconnecting answered differently")
		}
	})
	t.Run("same id, other request", func(t *testing.T) {
		d.t = t
		other := req
		other.Volser = "RPL002"
		got, _ := d.do(other)
		wantStatus(t, got, codec.StatusBadRequest)
	})
	t.Run("same id, other device", func(t *testing.T) {
		d2 := newDrive(t, env, "drive-2", devices.Family3592, "DRV0002", "tapes", devices.StateActive)
		other := req
		other.DriveSerial = "DRV0002"
		got, raw := d2.do(other)
		if _, ok := got.(codec.WriteKeyResponse); !ok || bytes.Equal(raw, first) {
			t.Fatalf("another device's request under the same id answered %#v", got)
		}
	})
	t.Run("retry recorded once", func(t *testing.T) {
		recs, err := env.Server.Usage().Query(context.Background(), usage.Query{Volser: "RPL001"})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			if r.Outcome == usage.OutcomeOK {
				n++
			}
		}
		if n != 2 { // drive-1's write and drive-2's
			t.Fatalf("records for RPL001: %+v", recs)
		}
	})
}

func TestFraming(t *testing.T) {
	env := setup(t)
	d := newDrive(t, env, "drive-1", devices.Family3592, "DRV0001", "tapes", devices.StateActive)
	t.Run("bad body answered, connection kept", func(t *testing.T) {
		d.t = t
		frame, err := codec.Encode(codec.WriteKeyRequest{RequestID: newID(t), DriveSerial: "DRV0001", WWN: "1", Volser: "V1"})
		if err != nil {
			t.Fatal(err)
		}
		id := codec.RequestID(frame[8:24])
		bad := bytes.Clone(frame)
		bad[5] = 0x42 // unknown type
		got, err := codec.Decode(d.roundTrip(bad))
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, got, codec.StatusBadRequest)
		if got.ID() != id {
			t.Fatal("error does not carry the request id")
		}
		resp := d.roundTrip(frame)
		if m, _ := codec.Decode(resp); m == nil || m.Type() != codec.TypeWriteKeyResponse {
			t.Fatalf("connection unusable after a refused body: %#v", m)
		}
		// A response type sent by the client is not a request.
		got, err = codec.Decode(d.roundTrip(frameOfType(t, frame, codec.TypeWriteKeyResponse)))
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, got, codec.StatusBadRequest)
	})
	t.Run("bad header closes", func(t *testing.T) {
		d.t = t
		d.close()
		d.dial()
		junk := bytes.Repeat([]byte("X"), codec.HeaderSize)
		if _, err := d.conn.Write(junk); err != nil {
			t.Fatal(err)
		}
		if out, err := codec.ReadMessage(d.conn, 0); err == nil {
			t.Fatalf("answer %x to a bad header", out)
		}
	})
}

// frameOfType returns frame with its type byte replaced.
func frameOfType(t *testing.T, frame []byte, typ codec.Type) []byte {
	t.Helper()
	out := bytes.Clone(frame)
	out[5] = byte(typ)
	return out
}
