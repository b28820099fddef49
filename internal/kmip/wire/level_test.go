package wire

import (
	"bytes"
	"testing"
)

func TestLevel(t *testing.T) {
	nodes := []Node{
		{Tag: 0x420057, Type: TypeEnumeration, Value: []byte{0, 0, 0, 2}},
		{Tag: 0x420094, Type: TypeTextString, Value: []byte("key-1")},
		{Tag: 0x420008, Type: TypeStructure, Value: nil},
	}
	enc := EncodeLevel(nodes)
	if len(enc)%8 != 0 || len(enc) != 8+8+8+8+8 {
		t.Fatalf("encoded %d bytes, want 40", len(enc))
	}
	got, ok := Level(enc)
	if !ok || len(got) != len(nodes) {
		t.Fatalf("Level = %d nodes, %v", len(got), ok)
	}
	for i := range nodes {
		if got[i].Tag != nodes[i].Tag || got[i].Type != nodes[i].Type || !bytes.Equal(got[i].Value, nodes[i].Value) {
			t.Errorf("node %d = %+v, want %+v", i, got[i], nodes[i])
		}
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"short header", enc[:5]},
		{"value cut", enc[:len(enc)-16]},
		{"padding cut", enc[:len(enc)-19]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := Level(tc.b); ok {
				t.Fatalf("Level accepted %d malformed bytes", len(tc.b))
			}
		})
	}
	if got, ok := Level(nil); !ok || len(got) != 0 {
		t.Fatalf("empty input: %v %v", got, ok)
	}
}
