package barrier

import (
	"bytes"
	"testing"
)

// BenchmarkSeal seals 256-byte values; a store write happens once per
// ReserveBlock seals.
func BenchmarkSeal(b *testing.B) {
	br := newBarrier(b, newStore(b), newFileKey(b), Options{})
	value := bytes.Repeat([]byte{0x42}, 256)
	key := []byte("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.Seal("objects", key, value); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealParallel seals from every CPU at once.
func BenchmarkSealParallel(b *testing.B) {
	br := newBarrier(b, newStore(b), newFileKey(b), Options{})
	value := bytes.Repeat([]byte{0x42}, 256)
	b.SetBytes(int64(len(value)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := br.Seal("objects", []byte("k"), value); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkOpen opens 256-byte values.
func BenchmarkOpen(b *testing.B) {
	br := newBarrier(b, newStore(b), newFileKey(b), Options{})
	sealed, err := br.Seal("objects", []byte("k"), bytes.Repeat([]byte{0x42}, 256))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(256)
	for b.Loop() {
		if _, err := br.Open("objects", []byte("k"), sealed); err != nil {
			b.Fatal(err)
		}
	}
}
