package store_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/keywarden/keywarden/internal/store"
)

// sampleCommands covers every op kind, empty and binary fields, and lengths
// whose varint takes more than one byte.
func sampleCommands() map[string]store.Command {
	big := bytes.Repeat([]byte{0xab}, 300)
	var all store.Command
	all.Put("objects", []byte("id-1"), []byte("sealed"))
	all.Delete("index", []byte{0, 1, 2})
	all.RequireAbsent("names", []byte("k"))
	all.RequireEqual(store.SysBucket, []byte("keyring"), big)
	var empties store.Command
	empties.Put("b", []byte("k"), []byte{})
	empties.RequireEqual("b", []byte("k"), []byte{})
	var long store.Command
	for range 200 {
		long.Put("b", big[:130], big)
	}
	return map[string]store.Command{
		"no ops":       {},
		"every kind":   all,
		"empty values": empties,
		"long":         long,
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for name, cmd := range sampleCommands() {
		t.Run(name, func(t *testing.T) {
			enc := store.Encode(cmd)
			got, err := store.DecodeCommand(enc)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(got.Ops) != len(cmd.Ops) {
				t.Fatalf("decoded %d ops; want %d", len(got.Ops), len(cmd.Ops))
			}
			for i, op := range cmd.Ops {
				g := got.Ops[i]
				if g.Kind != op.Kind || g.Bucket != op.Bucket || !bytes.Equal(g.Key, op.Key) || !bytes.Equal(g.Value, op.Value) {
					t.Errorf("op %d = %+v; want %+v", i, g, op)
				}
			}
			if re := store.Encode(got); !bytes.Equal(re, enc) {
				t.Error("re-encoding differs")
			}
			// The decoded command owns its bytes.
			for i := range enc {
				enc[i] ^= 0xff
			}
			if len(cmd.Ops) > 0 && !bytes.Equal(got.Ops[0].Key, cmd.Ops[0].Key) {
				t.Error("decoded command shares memory with its input")
			}
		})
	}
}

func TestEncodeDropsValueOfDelete(t *testing.T) {
	cmd := store.Command{Ops: []store.Op{{Kind: store.OpDelete, Bucket: "b", Key: []byte("k"), Value: []byte("ignored")}}}
	got, err := store.DecodeCommand(store.Encode(cmd))
	if err != nil {
		t.Fatal(err)
	}
	if got.Ops[0].Value != nil {
		t.Errorf("delete decoded with value %q", got.Ops[0].Value)
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := store.Encode(sampleCommands()["every kind"])
	tests := []struct {
		name  string
		input []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{2}, valid[1:]...)},
		{"truncated", valid[:len(valid)-1]},
		{"trailing byte", append(bytes.Clone(valid), 0)},
		{"unknown kind", []byte{1, 1, 9, 1, 'b', 1, 'k'}},
		{"zero kind", []byte{1, 1, 0, 1, 'b', 1, 'k'}},
		{"non-minimal varint", []byte{1, 1, 2, 0x81, 0x00, 'b', 1, 'k'}},
		{"count larger than input", []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f, 2, 1, 'b', 1, 'k'}},
		{"field longer than input", []byte{1, 1, 2, 1, 'b', 5, 'k'}},
		{"overlong varint", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := store.DecodeCommand(tc.input); !errors.Is(err, store.ErrMalformedCommand) {
				t.Errorf("decode = %v; want ErrMalformedCommand", err)
			}
		})
	}
}

// FuzzDecodeCommand checks that DecodeCommand never panics and accepts only
// canonical encodings: whatever it accepts re-encodes to the same bytes.
func FuzzDecodeCommand(f *testing.F) {
	for _, cmd := range sampleCommands() {
		// Large seeds make the fuzzer spend its time minimising.
		if enc := store.Encode(cmd); len(enc) < 1024 {
			f.Add(enc)
		}
	}
	f.Add([]byte{1, 1, 2, 0x81, 0x00, 'b', 1, 'k'})
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, err := store.DecodeCommand(data)
		if err != nil {
			if !errors.Is(err, store.ErrMalformedCommand) {
				t.Fatalf("error %v does not wrap ErrMalformedCommand", err)
			}
			return
		}
		if re := store.Encode(cmd); !bytes.Equal(re, data) {
			t.Fatalf("accepted a non-canonical encoding:\n in  %x\n out %x", data, re)
		}
	})
}
